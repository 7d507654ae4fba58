/**
 * Route templates as the Functions HTTP trigger reads them (ASP.NET Core routing, the common subset):
 * literal segments (case-insensitive), `{name}`, optional `{name?}` (trailing segments only),
 * constrained `{name:int}` / `{name:alpha}` / `{name:guid}` / `{name:bool}` / `{name:long}`, and
 * catch-all `{*name}` as the last segment.
 */

type Constraint = (value: string) => boolean;

const constraints: Record<string, Constraint> = {
  int: (v) => /^-?\d+$/.test(v) && Math.abs(Number(v)) <= 2147483647,
  long: (v) => /^-?\d+$/.test(v),
  alpha: (v) => /^[a-z]+$/i.test(v),
  bool: (v) => /^(true|false)$/i.test(v),
  guid: (v) => /^\{?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}?$/i.test(v),
};

type Segment =
  | { kind: 'literal'; text: string }
  | { kind: 'param'; name: string; optional: boolean; constraint?: Constraint }
  | { kind: 'catchAll'; name: string };

export interface CompiledRoute {
  readonly template: string;
  readonly segments: readonly Segment[];
  /** Per segment, higher is more specific: literal > constrained > parameter > optional > catch-all. */
  readonly precedence: readonly number[];
}

export class RouteTemplateError extends Error {
  override name = 'RouteTemplateError';
}

export function compileRoute(template: string): CompiledRoute {
  const parts = template.split('/').filter((part) => part !== '');
  const segments: Segment[] = parts.map((part, index) => {
    const param = /^\{(\*)?([A-Za-z_][\w]*)(?::([a-z]+))?(\?)?\}$/.exec(part);
    if (!param) {
      if (part.includes('{') || part.includes('}')) {
        throw new RouteTemplateError(`route '${template}': segment '${part}' mixes text and parameters`);
      }
      return { kind: 'literal', text: part.toLowerCase() };
    }
    const [, star, name = '', constraintName, optional] = param;
    if (star !== undefined) {
      if (index !== parts.length - 1) {
        throw new RouteTemplateError(`route '${template}': catch-all {*${name}} must be the last segment`);
      }
      return { kind: 'catchAll', name };
    }
    let constraint: Constraint | undefined;
    if (constraintName !== undefined) {
      constraint = constraints[constraintName];
      if (constraint === undefined) {
        throw new RouteTemplateError(`route '${template}': unknown constraint '${constraintName}'`);
      }
    }
    return { kind: 'param', name, optional: optional !== undefined, ...(constraint ? { constraint } : {}) };
  });
  let seenOptional = false;
  for (const segment of segments) {
    if (segment.kind === 'param' && segment.optional) seenOptional = true;
    else if (seenOptional && segment.kind !== 'catchAll') {
      throw new RouteTemplateError(`route '${template}': only trailing parameters may be optional`);
    }
  }
  const precedence = segments.map((s) => {
    if (s.kind === 'literal') return 4;
    if (s.kind === 'catchAll') return 0;
    if (s.optional) return 1;
    return s.constraint ? 3 : 2;
  });
  return { template, segments, precedence };
}

/** Orders routes most specific first, comparing segment by segment as ASP.NET routing does. */
export function compareRoutes(a: CompiledRoute, b: CompiledRoute): number {
  const length = Math.max(a.precedence.length, b.precedence.length);
  for (let i = 0; i < length; i += 1) {
    const difference = (b.precedence[i] ?? -1) - (a.precedence[i] ?? -1);
    if (difference !== 0) return difference;
  }
  return 0;
}

/** Matches decoded path segments (prefix already removed); returns the route parameters or undefined. */
export function matchRoute(
  route: CompiledRoute,
  pathSegments: readonly string[],
): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  let i = 0;
  for (const segment of route.segments) {
    const value = pathSegments[i];
    if (segment.kind === 'catchAll') {
      params[segment.name] = pathSegments.slice(i).join('/');
      return params;
    }
    if (value === undefined) {
      if (segment.kind === 'param' && segment.optional) continue;
      return undefined;
    }
    if (segment.kind === 'literal') {
      if (value.toLowerCase() !== segment.text) return undefined;
    } else {
      if (segment.constraint && !segment.constraint(value)) return undefined;
      params[segment.name] = value;
    }
    i += 1;
  }
  return i === pathSegments.length ? params : undefined;
}
