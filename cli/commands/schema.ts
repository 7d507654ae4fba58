import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { clientEventSchema, SCHEMA_VERSION } from '../../shared/events/clickstreamEvent';
import { Command, UsageError } from '../command';

const usage = `usage: npx nextoffer schema [--out FILE]

Prints the JSON Schema (draft 2020-12) of the clickstream events that POST /api/events accepts,
generated from shared/events/clickstreamEvent.ts. docs/events.schema.json is this output.

options:
  --out FILE   write the schema to FILE instead of stdout`;

/**
 * The JSON Schema of what a client may send. `io: 'input'` describes the request body, so fields
 * with defaults (schemaVersion) are optional, as the ingest endpoint treats them.
 */
export function eventJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(clientEventSchema, { io: 'input', target: 'draft-2020-12' });
  return {
    ...generated,
    title: `nextoffer clickstream event (schema version ${SCHEMA_VERSION})`,
    description: 'One clickstream event; POST /api/events takes a JSON array of them.',
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
