import { z } from 'zod';
import { fieldPath, requestFieldMessages } from '../../../shared/http/problems';

describe('requestFieldMessages', () => {
  const schema = z.object({
    name: z.string().min(2, 'must be at least 2 characters'),
    count: z.number().int().optional(),
    tags: z.array(z.string()).optional(),
    when: z.iso.datetime().optional(),
  });
  const messages = (input: unknown) =>
    schema
      .safeParse(input, { error: requestFieldMessages })
      .error?.issues.map((issue) => [fieldPath('', issue.path), issue.message]);

  it('says a missing field is required, instead of zod\'s "expected string, received undefined"', () => {
    expect(messages({})).toEqual([['name', 'is required']]);
  });

  it('names the type a wrongly typed field must have', () => {
    expect(messages({ name: 42, count: 'three', tags: 'a,b' })).toEqual([
      ['name', 'must be a string'],
      ['count', 'must be a number'],
      ['tags', 'must be an array'],
    ]);
    expect(messages({ name: 'ab', count: 1.5 })).toEqual([['count', 'must be an integer']]);
  });

  it("leaves the schema's own messages and zod's other messages as they are", () => {
    expect(messages({ name: 'x', when: 'yesterday' })).toEqual([
      ['name', 'must be at least 2 characters'],
      ['when', 'Invalid ISO datetime'],
    ]);
  });
});

describe('fieldPath', () => {
  it('joins keys with dots and indexes with brackets, after the prefix', () => {
    expect(fieldPath('', ['leads', 2, 'attributes', 'age'])).toBe('leads[2].attributes.age');
    expect(fieldPath('[3]', ['userId'])).toBe('[3].userId');
    expect(fieldPath('', [])).toBe('(body)');
  });
});
