import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { command, eventJsonSchema, eventJsonSchemaText } from '../../../cli/commands/schema';
import { UsageError } from '../../../cli/command';
import { clientEventSchema, eventTypes } from '../../../shared/events/clickstreamEvent';

const committedPath = join(__dirname, '..', '..', '..', 'docs', 'events.schema.json');

const root = join(__dirname, '..', '..', '..');

/**
 * The committed file is the command's output after Prettier (which `npm run lint` enforces on docs/).
 * Prettier runs in a child process because its CommonJS entry needs dynamic import, which jest's VM lacks.
 */
function formatted(text: string): string {
  return execFileSync(
    process.execPath,
    [join(root, 'node_modules', 'prettier', 'bin', 'prettier.cjs'), '--stdin-filepath', committedPath],
    {
      input: text,
      encoding: 'utf8',
      cwd: root,
    },
  );
}

describe('nextoffer schema', () => {
  it('matches the committed docs/events.schema.json (regenerate: `npx nextoffer schema --out docs/events.schema.json && npx prettier --write docs/events.schema.json`)', async () => {
    const committed = await readFile(committedPath, 'utf8');
    expect(committed).toBe(formatted(eventJsonSchemaText()));
    expect(JSON.parse(committed)).toEqual(eventJsonSchema());
  });

  it('writes the same text with --out', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'schema-'));
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const out = join(dir, 'events.schema.json');
      await expect(command.run(['--out', out])).resolves.toBe(0);
      expect(await readFile(out, 'utf8')).toBe(eventJsonSchemaText());
    } finally {
      stderr.mockRestore();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('describes both event shapes with their required fields and every event type', () => {
    const schema = eventJsonSchema() as {
      oneOf: Array<{ required: string[]; properties: { type: { enum: string[] } } }>;
    };
    expect(schema.oneOf).toHaveLength(2);
    const [product, offer] = schema.oneOf;
    expect(product!.required).toEqual(expect.arrayContaining(['userId', 'type', 'productId']));
    expect(offer!.required).toEqual(expect.arrayContaining(['userId', 'type', 'offerId', 'decisionId']));
    // schemaVersion has a default, so a client may leave it out.
    expect(product!.required).not.toContain('schemaVersion');
    expect([...product!.properties.type.enum, ...offer!.properties.type.enum].sort()).toEqual(
      [...eventTypes].sort(),
    );
  });

  it('accepts exactly the ids the endpoint accepts: zod trims surrounding whitespace first', () => {
    const schema = eventJsonSchema() as {
      oneOf: Array<{
        properties: Record<string, { pattern?: string; minLength?: number; maxLength?: number }>;
      }>;
    };
    const idFields = ['eventId', 'userId', 'sessionId', 'productId', 'offerId', 'decisionId'];
    for (const variant of schema.oneOf) {
      for (const field of idFields) {
        // One pattern bounds the trimmed length; minLength/maxLength would count the whitespace.
        expect(variant.properties[field]).not.toHaveProperty('minLength');
        expect(variant.properties[field]).not.toHaveProperty('maxLength');
      }
    }
    const userId = schema.oneOf[0]!.properties.userId!;
    // JSON Schema patterns are ECMA-262 regular expressions; validators compile them with the u flag.
    const pattern = new RegExp(userId.pattern!, 'u');
    const endpointAccepts = (value: string) =>
      clientEventSchema.safeParse({ type: 'product_view', userId: value, productId: 'p1' }).success;
    const cases = [
      'u1',
      ' u1 ',
      '\tu1\n',
      '\u00a0u1\ufeff',
      'a.b:c@d|e~f-g_h',
      'x'.repeat(128),
      `  ${'x'.repeat(128)}  `,
      'x'.repeat(129),
      '',
      '   ',
      'u 1',
      'u/1',
      'é',
    ];
    for (const value of cases) {
      expect({ value, schema: pattern.test(value) }).toEqual({ value, schema: endpointAccepts(value) });
    }
    expect(endpointAccepts(' u1 ')).toBe(true);
    expect(endpointAccepts('x'.repeat(129))).toBe(false);
  });

  it('says the body is one event or an array of them', () => {
    expect(eventJsonSchema().description).toMatch(/one such event or a JSON array of them/);
  });

  it('rejects unknown options as a usage error', async () => {
    await expect(command.run(['--bogus'])).rejects.toBeInstanceOf(UsageError);
  });
});
