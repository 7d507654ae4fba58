import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CsvLimitError,
  detectDelimiter,
  formatCsvLine,
  parseCsv,
  readCsvFile,
  rowLine,
} from '../../../shared/campaign/csv';
import { temporaryDirectory } from '../../support/temporaryDirectory';

describe('parseCsv', () => {
  it('detects ; and reads quoted strings like the UCI bank-marketing export', () => {
    const text = '"age";"job";"y"\r\n56;"housemaid";"no"\r\n57;"blue-collar";"yes"\r\n';
    const table = parseCsv(text, 'bank.csv');
    expect(table.delimiter).toBe(';');
    expect(table.header).toEqual(['age', 'job', 'y']);
    expect(table.rows).toEqual([
      ['56', 'housemaid', 'no'],
      ['57', 'blue-collar', 'yes'],
    ]);
  });

  it('keeps delimiters, doubled quotes and line breaks inside quoted fields', () => {
    const table = parseCsv('\ufeffid,note\n1,"a, ""b""\nc"\n2,\n', 'notes.csv');
    expect(table.rows).toEqual([
      ['1', 'a, "b"\nc'],
      ['2', ''],
    ]);
    expect(detectDelimiter('a\tb\tc\n')).toBe('\t');
  });

  it('names the file and line of a row with the wrong number of fields', () => {
    expect(() => parseCsv('a,b\n1,2\n3\n', 'touches.csv')).toThrow(
      'touches.csv, line 3: has 1 fields; the header has 2',
    );
    expect(() => parseCsv('a,b\n1,"2\n', 'touches.csv')).toThrow(
      'touches.csv, line 2: unterminated quoted field',
    );
    expect(() => parseCsv('', 'empty.csv')).toThrow('empty.csv, line 1: the file is empty');
    expect(() => parseCsv('a,a\n', 'dup.csv')).toThrow(
      "dup.csv, line 1, column 'a': the column name appears twice",
    );
  });

  it("reports each row's first physical line, past blank lines and line breaks inside quotes", () => {
    const text = 'id,note\n\n1,"two\nlines"\r\n2,"cr\r\nlf"\n\n\n3,"lone\rcr"\n4,plain\n';
    const table = parseCsv(text, 'notes.csv');
    expect(table.rows.map((r) => r[0])).toEqual(['1', '2', '3', '4']);
    expect(table.lines).toEqual([3, 5, 9, 11]);
    expect(rowLine(table, 3)).toBe(11);
    // A table built in memory has no lines: row k is then line k + 2.
    expect(rowLine({ source: 'x', delimiter: ',', header: ['a'], rows: [['1'], ['2']] }, 1)).toBe(3);
    expect(() => parseCsv('a,b\n\n1,"x\ny"\n3\n', 'touches.csv')).toThrow(
      'touches.csv, line 5: has 1 fields; the header has 2',
    );
    expect(() => parseCsv('\n\na,b\n1,2\n', 'x.csv').lines).not.toThrow();
    expect(parseCsv('\n\na,b\n1,2\n', 'x.csv').lines).toEqual([4]);
  });

  it('honours a forced delimiter and a row limit', () => {
    expect(parseCsv('a;b,c\n1;2,3\n', 'x.csv', { delimiter: ',' }).header).toEqual(['a;b', 'c']);
    expect(() => parseCsv('a\n1\n2\n', 'x.csv', { maxRows: 1 })).toThrow(
      'x.csv, line 3: has more than 1 rows; at most 1 are accepted',
    );
    expect(() => parseCsv('a\n1\n2', 'x.csv', { maxRows: 1 })).toThrow(CsvLimitError);
    expect(parseCsv('a\n\n1\n\n', 'x.csv', { maxRows: 1 }).rows).toEqual([['1']]);
    // It stops at the first row over the limit: the rest of the file is not parsed.
    expect(() => parseCsv('a\n1\n2\n"never closed\n', 'x.csv', { maxRows: 1 })).toThrow(
      'has more than 1 rows',
    );
  });

  it('refuses a file over its byte limit before reading it', async () => {
    const dir = temporaryDirectory('campaign-csv-');
    const path = join(dir, 'big.csv');
    await writeFile(path, 'a\n' + '1\n'.repeat(100));
    await expect(readCsvFile(path, { maxBytes: 100 })).rejects.toThrow(
      `${path}: is 202 bytes; at most 100 bytes are accepted`,
    );
    expect((await readCsvFile(path, { maxBytes: 202 })).rows).toHaveLength(100);
  });
});

describe('formatCsvLine', () => {
  it('quotes only the fields that need it and round-trips through parseCsv', () => {
    const fields = ['plain', 'with,comma', 'with "quote"', ' padded', 'line\nbreak'];
    const line = formatCsvLine(fields);
    expect(line).toBe('plain,"with,comma","with ""quote"""," padded","line\nbreak"\n');
    expect(parseCsv('a,b,c,d,e\n' + line, 'x').rows[0]).toEqual(fields);
  });
});
