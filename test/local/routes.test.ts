import { compareRoutes, compileRoute, matchRoute, RouteTemplateError } from '../../local/routes';

const match = (template: string, path: string) =>
  matchRoute(compileRoute(template), path.split('/').filter(Boolean));

describe('route templates', () => {
  it('matches literals case-insensitively and captures parameters', () => {
    expect(match('events', 'EVENTS')).toEqual({});
    expect(match('users/{userId}/offers', 'users/u-1/offers')).toEqual({ userId: 'u-1' });
    expect(match('users/{userId}/offers', 'users/u-1')).toBeUndefined();
    expect(match('users/{userId}', 'users/u-1/extra')).toBeUndefined();
  });

  it('handles optional, constrained and catch-all parameters', () => {
    expect(match('items/{id}/{variant?}', 'items/1')).toEqual({ id: '1' });
    expect(match('items/{id}/{variant?}', 'items/1/red')).toEqual({ id: '1', variant: 'red' });
    expect(match('items/{id:int}', 'items/12')).toEqual({ id: '12' });
    expect(match('items/{id:int}', 'items/abc')).toBeUndefined();
    expect(match('files/{*path}', 'files/a/b/c.txt')).toEqual({ path: 'a/b/c.txt' });
    expect(match('files/{*path}', 'files')).toEqual({ path: '' });
  });

  it('orders literal before constrained before plain before optional parameters', () => {
    const routes = ['items/{id?}', 'items/{id}', 'items/{id:int}', 'items/list', '{*all}'].map(compileRoute);
    expect(routes.sort(compareRoutes).map((r) => r.template)).toEqual([
      'items/list',
      'items/{id:int}',
      'items/{id}',
      'items/{id?}',
      '{*all}',
    ]);
  });

  it('rejects malformed templates', () => {
    expect(() => compileRoute('a/{*rest}/b')).toThrow(RouteTemplateError);
    expect(() => compileRoute('a/{x?}/b')).toThrow(/only trailing parameters may be optional/);
    expect(() => compileRoute('a/{x:nope}')).toThrow(/unknown constraint 'nope'/);
    expect(() => compileRoute('a/x{y}')).toThrow(/mixes text and parameters/);
  });
});
