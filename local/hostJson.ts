import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** The parts of host.json the local host honours, with the real host's defaults. */
export interface HostConfig {
  http: { routePrefix: string };
  eventHubs: {
    maxEventBatchSize: number;
    maxWaitTimeMs: number;
    batchCheckpointFrequency: number;
    prefetchCount: number;
    initialOffset:
      { type: 'fromStart' } | { type: 'fromEnd' } | { type: 'fromEnqueuedTime'; enqueuedTimeUtc: Date };
  };
}

/** .NET TimeSpan text `[d.]hh:mm:ss[.fff]` → milliseconds. */
export function parseTimeSpan(text: string, field: string): number {
  const match = /^(?:(\d+)\.)?(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,7}))?$/.exec(text.trim());
  if (!match) throw new Error(`host.json ${field}: '${text}' is not a TimeSpan like 00:00:30`);
  const [, days = '0', hours = '0', minutes = '0', seconds = '0', fraction = '0'] = match;
  return (
    ((Number(days) * 24 + Number(hours)) * 60 + Number(minutes)) * 60_000 +
    Number(seconds) * 1000 +
    Math.round(Number(`0.${fraction}`) * 1000)
  );
}

const hostJsonSchema = z.object({
  extensions: z
    .object({
      http: z.object({ routePrefix: z.string().optional() }).optional(),
      eventHubs: z
        .object({
          maxEventBatchSize: z.number().int().positive().optional(),
          maxWaitTime: z.string().optional(),
          batchCheckpointFrequency: z.number().int().positive().optional(),
          prefetchCount: z.number().int().nonnegative().optional(),
          initialOffsetOptions: z
            .object({
              type: z.enum(['fromStart', 'fromEnd', 'fromEnqueuedTime']).optional(),
              enqueuedTimeUtc: z.string().optional(),
            })
            .optional(),
        })
        .optional(),
    })
    .optional(),
});

export type HostJson = z.input<typeof hostJsonSchema>;

/** Applies the real host's defaults (Event Hubs extension 5.x) to a parsed host.json. */
export function hostConfigFrom(json: unknown, source = 'host.json'): HostConfig {
  const parsed = hostJsonSchema.safeParse(json ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${source}: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  const http = parsed.data.extensions?.http;
  const hubs = parsed.data.extensions?.eventHubs;
  const offset = hubs?.initialOffsetOptions;
  let initialOffset: HostConfig['eventHubs']['initialOffset'] = { type: 'fromStart' };
  if (offset?.type === 'fromEnd') initialOffset = { type: 'fromEnd' };
  if (offset?.type === 'fromEnqueuedTime') {
    const time = new Date(offset.enqueuedTimeUtc ?? '');
    if (Number.isNaN(time.getTime())) {
      throw new Error(`${source}: extensions.eventHubs.initialOffsetOptions.enqueuedTimeUtc: not a date`);
    }
    initialOffset = { type: 'fromEnqueuedTime', enqueuedTimeUtc: time };
  }
  return {
    http: { routePrefix: (http?.routePrefix ?? 'api').replace(/^\/+|\/+$/g, '') },
    eventHubs: {
      maxEventBatchSize: hubs?.maxEventBatchSize ?? 100,
      maxWaitTimeMs: parseTimeSpan(hubs?.maxWaitTime ?? '00:01:00', 'extensions.eventHubs.maxWaitTime'),
      batchCheckpointFrequency: hubs?.batchCheckpointFrequency ?? 1,
      prefetchCount: hubs?.prefetchCount ?? 300,
      initialOffset,
    },
  };
}

export function readHostJson(path: string): HostConfig {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return hostConfigFrom(json, path);
}
