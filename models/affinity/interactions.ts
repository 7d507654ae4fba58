import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

/** One observed engagement of a user with an item. */
export interface Interaction {
  userId: string;
  itemId: string;
  /** Strength of the engagement (a rating, or the event type's weight); positive. */
  weight: number;
  /** Milliseconds since the epoch, when known. */
  timestamp?: number;
  category?: string;
}

/**
 * Input formats:
 * - `csv`: a header naming `userId,itemId[,weight][,timestamp][,category]` (aliases: user/user_id,
 *   item/item_id/movieId/productId, rating/value, time/ts), in any order; or, without a header, the
 *   positional `user,item[,rating][,timestamp]` of headerless rating dumps.
 * - `jsonl`: one JSON object per line with the same fields (clickstream events with `type` and
 *   `productId` are accepted too, weighted by event type).
 * - `movielens`: MovieLens rating dumps: `user<TAB>item<TAB>rating<TAB>timestamp` (ml-100k `u.data`)
 *   or `user::item::rating::timestamp` (ml-1m/10m `ratings.dat`), no header.
 * - `auto` (default) tells them apart from the first line.
 */
export type InteractionFormat = 'auto' | 'csv' | 'jsonl' | 'movielens';
export const interactionFormats: readonly InteractionFormat[] = ['auto', 'csv', 'jsonl', 'movielens'];

/** Weights of clickstream event types: stronger intent counts more. */
export const eventTypeWeights: Readonly<Record<string, number>> = {
  product_view: 1,
  product_click: 2,
  add_to_cart: 4,
  purchase: 8,
};

export const MAX_ID_LENGTH = 128;
const MAX_LINE_LENGTH = 64 * 1024;
export const DEFAULT_MAX_INTERACTIONS = 50_000_000;

export class InteractionInputError extends Error {
  override name = 'InteractionInputError';
  constructor(
    readonly source: string,
    readonly line: number,
    readonly field: string,
    problem: string,
  ) {
    super(`${source}:${line}: ${field}: ${problem}`);
  }
}

const headerAliases: Record<string, keyof Interaction> = {
  userid: 'userId',
  user: 'userId',
  user_id: 'userId',
  itemid: 'itemId',
  item: 'itemId',
  item_id: 'itemId',
  movieid: 'itemId',
  movie_id: 'itemId',
  productid: 'itemId',
  product_id: 'itemId',
  weight: 'weight',
  rating: 'weight',
  value: 'weight',
  timestamp: 'timestamp',
  time: 'timestamp',
  ts: 'timestamp',
  category: 'category',
};

/** Splits one CSV line, honouring double-quoted fields with "" escapes. */
export function splitCsvLine(line: string): string[] {
  if (!line.includes('"')) return line.split(',');
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      fields.push(field);
      field = '';
    } else field += c;
  }
  fields.push(field);
  return fields;
}

/** Turns a timestamp (epoch seconds, epoch milliseconds or ISO 8601) into epoch milliseconds. */
export function parseTimestamp(raw: string): number | undefined {
  const text = raw.trim();
  if (text === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) {
    const value = Number(text);
    // Ten-digit values are seconds (until 2286); thirteen-digit values are milliseconds.
    return value < 1e11 ? value * 1000 : value;
  }
  const parsed = Date.parse(text);
  return Number.isNaN(parsed) ? Number.NaN : parsed;
}

/** Incremental parser: feed lines, get interactions; errors name the source, line and field. */
export class InteractionParser {
  private format: Exclude<InteractionFormat, 'auto'> | undefined;
  private columns: Array<keyof Interaction | undefined> | undefined;
  private lineNumber = 0;
  readonly interactions: Interaction[] = [];

  constructor(
    private readonly source: string,
    format: InteractionFormat = 'auto',
    private readonly maxInteractions = DEFAULT_MAX_INTERACTIONS,
  ) {
    this.format = format === 'auto' ? undefined : format;
  }

  private fail(field: string, problem: string): never {
    throw new InteractionInputError(this.source, this.lineNumber, field, problem);
  }

  private id(value: unknown, field: string): string {
    if (typeof value === 'number' && Number.isFinite(value)) value = String(value);
    if (typeof value !== 'string') this.fail(field, 'missing');
    const text = value.trim();
    if (text === '') this.fail(field, 'must not be empty');
    if (text.length > MAX_ID_LENGTH) this.fail(field, `must be at most ${MAX_ID_LENGTH} characters`);
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(text)) this.fail(field, 'must not contain control characters');
    return text;
  }

  private weight(value: unknown, field: string): number {
    const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
    if (typeof number !== 'number' || !Number.isFinite(number))
      this.fail(field, `'${String(value)}' is not a number`);
    if (number <= 0) this.fail(field, `must be positive, got ${number}`);
    if (number > 1e6) this.fail(field, `must be at most 1e6, got ${number}`);
    return number;
  }

  private timestamp(value: unknown, field: string): number | undefined {
    if (value === undefined || value === null || value === '') return undefined;
    const parsed =
      typeof value === 'number'
        ? value < 1e11
          ? value * 1000
          : value
        : typeof value === 'string'
          ? parseTimestamp(value)
          : Number.NaN;
    if (parsed !== undefined && !Number.isFinite(parsed)) {
      this.fail(
        field,
        `${typeof value === 'string' ? `'${value}'` : JSON.stringify(value)} is not a timestamp`,
      );
    }
    return parsed;
  }

  private add(interaction: Interaction): void {
    if (this.interactions.length >= this.maxInteractions) {
      this.fail('(file)', `more than ${this.maxInteractions} interactions`);
    }
    this.interactions.push(interaction);
  }

  private detect(line: string): Exclude<InteractionFormat, 'auto'> {
    const trimmed = line.trimStart();
    if (trimmed.startsWith('{')) return 'jsonl';
    if (line.includes('::') || line.includes('\t')) return 'movielens';
    return 'csv';
  }

  push(rawLine: string): void {
    this.lineNumber++;
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (line.trim() === '') return;
    if (line.length > MAX_LINE_LENGTH) this.fail('(line)', `longer than ${MAX_LINE_LENGTH} characters`);
    this.format ??= this.detect(line);
    switch (this.format) {
      case 'jsonl':
        return this.pushJson(line);
      case 'movielens':
        return this.pushMovieLens(line);
      case 'csv':
        return this.pushCsv(line);
    }
  }

  private pushJson(line: string): void {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      this.fail('(line)', 'is not valid JSON');
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      this.fail('(line)', 'is not a JSON object');
    const record = value as Record<string, unknown>;
    const pick = (...names: string[]): unknown => names.map((n) => record[n]).find((v) => v !== undefined);
    const eventType = record.type;
    let weight: number;
    if (typeof eventType === 'string' && pick('weight', 'rating') === undefined) {
      const typeWeight = eventTypeWeights[eventType];
      if (typeWeight === undefined) return; // offer events and the like carry no product affinity
      weight = typeWeight;
    } else {
      const raw = pick('weight', 'rating');
      weight = raw === undefined ? 1 : this.weight(raw, 'weight');
    }
    const category = record.category;
    const timestamp = this.timestamp(pick('timestamp', 'time'), 'timestamp');
    this.add({
      userId: this.id(pick('userId', 'user', 'user_id'), 'userId'),
      itemId: this.id(pick('itemId', 'item', 'item_id', 'productId', 'movieId'), 'itemId'),
      weight,
      ...(timestamp === undefined ? {} : { timestamp }),
      ...(typeof category === 'string' && category.trim() !== ''
        ? { category: category.trim().slice(0, 100) }
        : {}),
    });
  }

  private pushMovieLens(line: string): void {
    const fields = line.includes('::') ? line.split('::') : line.split('\t');
    if (fields.length < 2) this.fail('itemId', 'missing (expected user, item, rating, timestamp)');
    const timestamp = fields[3] === undefined ? undefined : this.timestamp(fields[3], 'timestamp');
    this.add({
      userId: this.id(fields[0], 'userId'),
      itemId: this.id(fields[1], 'itemId'),
      weight: fields[2] === undefined ? 1 : this.weight(fields[2], 'weight'),
      ...(timestamp === undefined ? {} : { timestamp }),
    });
  }

  private pushCsv(line: string): void {
    const fields = splitCsvLine(line);
    if (this.columns === undefined) {
      const names = fields.map((f) => f.trim().toLowerCase());
      // A first line of numbers is data, as in headerless `user,item,rating,timestamp` dumps.
      if (names.every((n) => /^-?\d+(\.\d+)?$/.test(n))) {
        this.columns = ['userId', 'itemId', 'weight', 'timestamp'];
      } else {
        this.columns = names.map((n) => headerAliases[n]);
        for (const required of ['userId', 'itemId'] as const) {
          if (!this.columns.includes(required)) {
            this.fail(required, `header has no ${required} column (found: ${fields.join(',')})`);
          }
        }
        return;
      }
    }
    const record: Partial<Record<keyof Interaction, string>> = {};
    this.columns.forEach((column, index) => {
      if (column !== undefined && fields[index] !== undefined) record[column] = fields[index];
    });
    const timestamp = this.timestamp(record.timestamp, 'timestamp');
    const category = record.category?.trim();
    this.add({
      userId: this.id(record.userId, 'userId'),
      itemId: this.id(record.itemId, 'itemId'),
      weight:
        record.weight === undefined || record.weight.trim() === '' ? 1 : this.weight(record.weight, 'weight'),
      ...(timestamp === undefined ? {} : { timestamp }),
      ...(category ? { category: category.slice(0, 100) } : {}),
    });
  }
}

/** Parses interactions from text (tests, small inputs). */
export function parseInteractions(
  text: string,
  source = '(text)',
  format: InteractionFormat = 'auto',
): Interaction[] {
  const parser = new InteractionParser(source, format);
  for (const line of text.split('\n')) parser.push(line);
  return parser.interactions;
}

/** Streams a CSV / JSON Lines / MovieLens file into interactions; fails whole on the first bad row. */
export async function readInteractionsFile(
  path: string,
  format: InteractionFormat = 'auto',
  onProgress?: (lines: number) => void,
): Promise<Interaction[]> {
  const parser = new InteractionParser(path, format);
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let count = 0;
  for await (const line of lines) {
    parser.push(line);
    if (++count % 500_000 === 0) onProgress?.(count);
  }
  if (parser.interactions.length === 0)
    throw new InteractionInputError(path, count, '(file)', 'holds no interactions');
  return parser.interactions;
}
