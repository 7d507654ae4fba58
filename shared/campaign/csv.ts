import { readFile, stat } from 'node:fs/promises';
import { CampaignInputError } from './errors';

/**
 * A small RFC 4180 reader and writer. Campaign files come from spreadsheets and SQL exports, so the reader
 * accepts ',' ';' or tab as delimiter (auto-detected from the header), quoted fields with "" escapes and
 * embedded delimiters or line breaks, CRLF line ends and a UTF-8 byte order mark.
 */

export type Delimiter = ',' | ';' | '\t';

export interface CsvTable {
  /** Where the rows came from, for error messages. */
  source: string;
  delimiter: Delimiter;
  header: string[];
  /** Data rows; each has exactly header.length fields. */
  rows: string[][];
  /**
   * The file line (1-based) where each row starts, for error messages: blank lines and line breaks inside
   * quoted fields make it differ from the row's index. Absent for tables built in memory; see rowLine.
   */
  lines?: number[];
}

/** The file line where data row `index` starts (index + 2 for a table built in memory, header on line 1). */
export function rowLine(table: CsvTable, index: number): number {
  return table.lines?.[index] ?? index + 2;
}

export interface CsvReadOptions {
  /** Forces the delimiter instead of detecting it from the header line. */
  delimiter?: Delimiter;
  /** Refuses files with more data rows than this, as soon as the row after the last allowed one is read. */
  maxRows?: number;
  /** readCsvFile only: refuses files larger than this many bytes before reading them. */
  maxBytes?: number;
}

/** A file over a CsvReadOptions limit (`maxRows` or `maxBytes`). */
export class CsvLimitError extends CampaignInputError {
  override name = 'CsvLimitError';
  constructor(
    source: string,
    line: number | undefined,
    /** What is over the limit: `has more than 10 rows`, `is 2048 bytes`. */
    readonly detail: string,
    readonly limit: { maxRows: number } | { maxBytes: number },
  ) {
    super(
      source,
      line,
      undefined,
      'maxRows' in limit
        ? `${detail}; at most ${limit.maxRows} are accepted`
        : `${detail}; at most ${limit.maxBytes} bytes are accepted`,
    );
  }
}

export function detectDelimiter(text: string): Delimiter {
  const counts: Record<Delimiter, number> = { ',': 0, ';': 0, '\t': 0 };
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    else if (!quoted && (c === '\n' || c === '\r')) break;
    else if (!quoted && (c === ',' || c === ';' || c === '\t')) counts[c]++;
  }
  if (counts[';'] > counts[','] && counts[';'] >= counts['\t']) return ';';
  if (counts['\t'] > counts[',']) return '\t';
  return ',';
}

/** Parses CSV text. Row numbers in errors are 1-based file lines of the record's start, header = line 1. */
export function parseCsv(text: string, source: string, options: CsvReadOptions = {}): CsvTable {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const delimiter = options.delimiter ?? detectDelimiter(text);
  const delimiterCode = delimiter.charCodeAt(0);
  const records: string[][] = [];
  const recordLines: number[] = [];
  let fields: string[] = [];
  let line = 1;
  let recordLine = 1;
  let nonBlankRecords = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    // One field per iteration.
    let value: string;
    if (text.charCodeAt(i) === 34 /* " */) {
      let out = '';
      let start = ++i;
      for (;;) {
        if (i >= n) throw new CampaignInputError(source, recordLine, undefined, 'unterminated quoted field');
        const code = text.charCodeAt(i);
        if (code === 34) {
          if (text.charCodeAt(i + 1) === 34) {
            out += text.slice(start, i + 1);
            i += 2;
            start = i;
            continue;
          }
          out += text.slice(start, i);
          i++;
          break;
        }
        // A quoted line break (\n, \r\n or a lone \r) moves the physical line on like one between records.
        if (code === 10 || (code === 13 && text.charCodeAt(i + 1) !== 10)) line++;
        i++;
      }
      value = out;
      const next = text.charCodeAt(i);
      if (i < n && next !== delimiterCode && next !== 10 && next !== 13) {
        throw new CampaignInputError(
          source,
          recordLine,
          undefined,
          `unexpected character after closing quote in field ${fields.length + 1}`,
        );
      }
    } else {
      const start = i;
      while (i < n) {
        const code = text.charCodeAt(i);
        if (code === delimiterCode || code === 10 || code === 13) break;
        i++;
      }
      value = text.slice(start, i);
    }
    fields.push(value);
    if (i >= n) break;
    const code = text.charCodeAt(i);
    if (code === delimiterCode) {
      i++;
      if (i >= n) fields.push('');
      continue;
    }
    // End of record: \n, \r\n or \r.
    if (code === 13 && text.charCodeAt(i + 1) === 10) i++;
    i++;
    records.push(fields);
    recordLines.push(recordLine);
    if (!(fields.length === 1 && fields[0] === '')) nonBlankRecords++;
    // Header + maxRows rows: stop at the next one instead of reading (and holding) the rest of the file.
    if (options.maxRows !== undefined && nonBlankRecords > options.maxRows + 1) {
      throw new CsvLimitError(source, recordLine, `has more than ${options.maxRows} rows`, {
        maxRows: options.maxRows,
      });
    }
    fields = [];
    line++;
    recordLine = line;
  }
  if (fields.length > 0) {
    records.push(fields);
    recordLines.push(recordLine);
  }
  // Blank lines carry no data.
  const nonBlank = records
    .map((r, k) => [r, recordLines[k]!] as const)
    .filter(([r]) => !(r.length === 1 && r[0] === ''));
  const first = nonBlank[0];
  if (!first) throw new CampaignInputError(source, 1, undefined, 'the file is empty; expected a header line');
  const header = first[0].map((h) => h.trim());
  header.forEach((name, index) => {
    if (name === '')
      throw new CampaignInputError(source, first[1], undefined, `header field ${index + 1} is empty`);
    if (header.indexOf(name) !== index)
      throw new CampaignInputError(source, first[1], name, 'the column name appears twice');
  });
  const rows: string[][] = [];
  const lines: number[] = [];
  for (let k = 1; k < nonBlank.length; k++) {
    const [record, at] = nonBlank[k]!;
    if (record.length !== header.length) {
      throw new CampaignInputError(
        source,
        at,
        undefined,
        `has ${record.length} fields; the header has ${header.length}`,
      );
    }
    rows.push(record);
    lines.push(at);
  }
  // A last record without a line break is not counted in the loop.
  if (options.maxRows !== undefined && rows.length > options.maxRows) {
    throw new CsvLimitError(source, lines[options.maxRows], `has more than ${options.maxRows} rows`, {
      maxRows: options.maxRows,
    });
  }
  return { source, delimiter, header, rows, lines };
}

export async function readCsvFile(path: string, options: CsvReadOptions = {}): Promise<CsvTable> {
  let text: string;
  try {
    if (options.maxBytes !== undefined) {
      const { size } = await stat(path);
      if (size > options.maxBytes) {
        throw new CsvLimitError(path, undefined, `is ${size} bytes`, { maxBytes: options.maxBytes });
      }
    }
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof CsvLimitError) throw error;
    throw new CampaignInputError(path, undefined, undefined, `cannot be read: ${(error as Error).message}`);
  }
  return parseCsv(text, path, options);
}

function quoteField(value: string): string {
  return /[",;\t\r\n]/.test(value) || value !== value.trim() ? `"${value.replace(/"/g, '""')}"` : value;
}

/** One CSV line (with its trailing newline), quoting fields that need it. */
export function formatCsvLine(fields: readonly string[], delimiter: Delimiter = ','): string {
  return fields.map(quoteField).join(delimiter) + '\n';
}
