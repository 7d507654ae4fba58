import { createWriteStream, mkdirSync, WriteStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { once } from 'node:events';
import type { ClientEvent } from '../events/clickstreamEvent';

/**
 * Files the simulator writes for offline work. Each is written to a temporary file beside the target
 * and renamed into place only when the run ends well, so a failed run never leaves a half-written file.
 * A missing folder on the way is created (`--out data/events.jsonl` in a fresh clone).
 */

/** Implicit-feedback weights of the interactions CSV: stronger signals weigh more. */
export const interactionWeights = { product_view: 1, product_click: 2, add_to_cart: 4, purchase: 8 } as const;

function temporaryPath(path: string): string {
  return `${path}.${process.pid}.partial`;
}

class AtomicLineFile {
  private readonly stream: WriteStream;
  private failure: Error | undefined;

  constructor(readonly path: string) {
    // Synchronous: a constructor cannot wait, and this runs once per file before any event is generated.
    // A folder that cannot be made is left to the stream's open to report, on the first write or the
    // commit, like any other failure of the file.
    try {
      mkdirSync(dirname(path), { recursive: true });
    } catch {
      // reported by the stream
    }
    this.stream = createWriteStream(temporaryPath(path), { encoding: 'utf8' });
    this.stream.on('error', (error) => {
      this.failure = error;
    });
  }

  /** Writes a line, waiting when the stream's buffer is full so memory stays bounded. */
  async write(line: string): Promise<void> {
    this.throwIfFailed();
    if (!this.stream.write(line + '\n')) await once(this.stream, 'drain');
  }

  async commit(): Promise<void> {
    await this.end();
    await rename(temporaryPath(this.path), this.path);
  }

  async discard(): Promise<void> {
    await this.end().catch(() => undefined);
    try {
      await rm(temporaryPath(this.path), { force: true });
    } catch (error) {
      // A file that could not be created where a folder was needed was never there to remove.
      if ((error as NodeJS.ErrnoException).code !== 'ENOTDIR') throw error;
    }
  }

  private async end(): Promise<void> {
    this.throwIfFailed();
    if (!this.stream.writableEnded) {
      this.stream.end();
      await once(this.stream, 'finish');
    }
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }
}

/** Receives each generated event; committed at the end of a run, discarded on failure. */
export interface EventSink {
  write(event: ClientEvent): Promise<void>;
  commit(): Promise<void>;
  discard(): Promise<void>;
}

/** The events as JSON Lines, exactly as they would be posted. */
export function jsonLinesSink(path: string): EventSink {
  const file = new AtomicLineFile(path);
  return {
    write: (event) => file.write(JSON.stringify(event)),
    commit: () => file.commit(),
    discard: () => file.discard(),
  };
}

/** `userId,itemId,weight,timestamp` rows for the product events (offer events carry no item signal). */
export function interactionsSink(path: string): EventSink {
  const file = new AtomicLineFile(path);
  let headerWritten = false;
  return {
    async write(event) {
      if (!headerWritten) {
        headerWritten = true;
        await file.write('userId,itemId,weight,timestamp');
      }
      if (!(event.type in interactionWeights)) return;
      const weight = interactionWeights[event.type as keyof typeof interactionWeights];
      // Ids are restricted to [\w.:@|~-] by the event contract, so they need no CSV quoting.
      await file.write(`${event.userId},${event.productId ?? ''},${weight},${event.timestamp ?? ''}`);
    },
    async commit() {
      if (!headerWritten) {
        headerWritten = true;
        await file.write('userId,itemId,weight,timestamp');
      }
      await file.commit();
    },
    discard: () => file.discard(),
  };
}

/** Writes a whole JSON document atomically. */
export async function writeJsonFile(path: string, value: unknown): Promise<void> {
  const partial = temporaryPath(path);
  await mkdir(dirname(path), { recursive: true });
  try {
    await writeFile(partial, JSON.stringify(value, null, 2) + '\n', 'utf8');
    await rename(partial, path);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
}
