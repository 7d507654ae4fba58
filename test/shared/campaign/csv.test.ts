import { detectDelimiter, formatCsvLine, parseCsv } from '../../../shared/campaign/csv';

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

  it('honours a forced delimiter and a row limit', () => {
    expect(parseCsv('a;b,c\n1;2,3\n', 'x.csv', { delimiter: ',' }).header).toEqual(['a;b', 'c']);
    expect(() => parseCsv('a\n1\n2\n', 'x.csv', { maxRows: 1 })).toThrow('has 2 rows; at most 1');
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
