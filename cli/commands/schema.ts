import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import {
  clientEventSchema,
  ID_CHARACTER,
  ID_PATTERN,
  SCHEMA_VERSION,
} from '../../shared/events/clickstreamEvent';
import { Command, UsageError } from '../command';

const usage = `usage: npx nextoffer schema [--out FILE]

Prints the JSON Schema (draft 2020-12) of the clickstream events that POST /api/events accepts,
generated from shared/events/clickstreamEvent.ts. docs/events.schema.json is this output in Prettier's
format (npx nextoffer schema --out docs/events.schema.json && npx prettier --write docs/events.schema.json).

options:
  --out FILE   write the schema to FILE instead of stdout`;

/**
 * zod trims ids before checking their length and characters, so " u1 " is accepted as "u1"; the
 * generated minLength, maxLength and pattern would reject it. An id's schema becomes one pattern that
 * allows the surrounding whitespace and counts the length without it, accepting exactly what zod accepts.
 */
function tolerateTrimmedWhitespace(jsonSchema: { [key: string]: unknown }): void {
  if (jsonSchema.pattern !== ID_PATTERN.source) return;
  const { minLength, maxLength } = jsonSchema;
  if (typeof minLength !== 'number' || typeof maxLength !== 'number') {
    throw new Error('an id schema lost its length bounds; update cli/commands/schema.ts');
  }
  delete jsonSchema.minLength;
  delete jsonSchema.maxLength;
  jsonSchema.pattern = `^\\s*${ID_CHARACTER}{${minLength},${maxLength}}\\s*$`;
  jsonSchema.description =
    `Surrounding whitespace is trimmed; the rest is ${minLength} to ${maxLength} letters, digits ` +
    'or . : @ | ~ - _';
}

/**
 * The JSON Schema of what a client may send. `io: 'input'` describes the request body, so fields
 * with defaults (schemaVersion) are optional, as the ingest endpoint treats them.
 */
export function eventJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(clientEventSchema, {
    io: 'input',
    target: 'draft-2020-12',
    override: ({ jsonSchema }) => tolerateTrimmedWhitespace(jsonSchema),
  });
  return {
    ...generated,
    title: `nextoffer clickstream event (schema version ${SCHEMA_VERSION})`,
    description:
      'One clickstream event. The body of POST /api/events (and of POST /api/server/events) is one such ' +
      'event or a JSON array of them.',
  };
}

/** The exact text the command writes, so the committed file can be compared byte for byte. */
export function eventJsonSchemaText(): string {
  return JSON.stringify(eventJsonSchema(), null, 2) + '\n';
}

export const command: Command = {
  summary: 'print the JSON Schema of the clickstream event contract',
  usage,
  async run(args: string[]): Promise<number> {
    let values: { out?: string };
    try {
      ({ values } = parseArgs({
        args,
        options: { out: { type: 'string' } },
        strict: true,
        allowPositionals: false,
      }));
    } catch (error) {
      throw new UsageError(error instanceof Error ? error.message : String(error));
    }
    const text = eventJsonSchemaText();
    if (values.out === undefined) {
      process.stdout.write(text);
    } else {
      await writeFile(values.out, text, 'utf8');
      process.stderr.write(`wrote ${values.out}\n`);
    }
    return 0;
  },
};
