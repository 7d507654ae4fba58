import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { interactionsSink, jsonLinesSink, writeJsonFile } from '../../../shared/simulation/outputFiles';
import type { ClientEvent } from '../../../shared/events/clickstreamEvent';

const view = {
  schemaVersion: 1,
  type: 'product_view',
  userId: 'u1',
  productId: 'p1',
  timestamp: '2026-12-02T10:00:00.000Z',
} as ClientEvent;

describe('simulator output files', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nextoffer-output-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('creates missing folders on the way and puts each file in place only when committed', async () => {
    const events = join(dir, 'data', 'events.jsonl');
    const interactions = join(dir, 'data', 'nested', 'interactions.csv');
    const sinks = [jsonLinesSink(events), interactionsSink(interactions)];
    for (const sink of sinks) await sink.write(view);
    expect(await readdir(join(dir, 'data'))).not.toContain('events.jsonl');
    for (const sink of sinks) await sink.commit();
    expect(JSON.parse((await readFile(events, 'utf8')).trim())).toEqual(view);
    expect((await readFile(interactions, 'utf8')).split('\n')).toEqual([
      'userId,itemId,weight,timestamp',
      'u1,p1,1,2026-12-02T10:00:00.000Z',
      '',
    ]);
  });

  it('leaves nothing behind when a run is discarded', async () => {
    const sink = jsonLinesSink(join(dir, 'out', 'events.jsonl'));
    await sink.write(view);
    await sink.discard();
    expect(await readdir(join(dir, 'out'))).toEqual([]);
  });

  it('writes a JSON document into a folder that does not exist yet', async () => {
    const path = join(dir, 'truth', 'truth.json');
    await writeJsonFile(path, { users: 1 });
    expect(await readFile(path, 'utf8')).toBe('{\n  "users": 1\n}\n');
  });
});
