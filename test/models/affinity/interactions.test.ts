import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseInteractions, readInteractionsFile } from '../../../models/affinity/interactions';
import { temporaryDirectory } from '../../support/temporaryDirectory';

describe('parseInteractions', () => {
  it('reads CSV with a header in any order, aliases and optional columns', () => {
    const rows = parseInteractions('rating,movieId,userId,timestamp\n4,10,1,881250949\n5,"2,b",3,\n');
    expect(rows).toEqual([
      { userId: '1', itemId: '10', weight: 4, timestamp: 881250949000 },
      { userId: '3', itemId: '2,b', weight: 5 },
    ]);
  });

  it('defaults the weight to 1 and keeps categories', () => {
    expect(parseInteractions('userId,itemId,category\nu,i,shoes\n')).toEqual([
      { userId: 'u', itemId: 'i', weight: 1, category: 'shoes' },
    ]);
  });

  it('reads headerless numeric CSV positionally', () => {
    expect(parseInteractions('1,31,2.5,1260759144\n')).toEqual([
      { userId: '1', itemId: '31', weight: 2.5, timestamp: 1260759144000 },
    ]);
  });

  it('reads MovieLens u.data (tabs) and ratings.dat (::)', () => {
    expect(parseInteractions('196\t242\t3\t881250949\r\n186\t302\t3\t891717742\n')).toEqual([
      { userId: '196', itemId: '242', weight: 3, timestamp: 881250949000 },
      { userId: '186', itemId: '302', weight: 3, timestamp: 891717742000 },
    ]);
    expect(parseInteractions('1::1193::5::978300760\n')).toEqual([
      { userId: '1', itemId: '1193', weight: 5, timestamp: 978300760000 },
    ]);
  });

  it('reads JSON Lines, weighting clickstream events by type and skipping offer events', () => {
    const text = [
      '{"userId":"a","itemId":"x","weight":2,"timestamp":"2026-01-01T10:00:00Z"}',
      '{"type":"purchase","userId":"a","productId":"y","category":"toys"}',
      '{"type":"offer_click","userId":"a","offerId":"o","decisionId":"d"}',
    ].join('\n');
    expect(parseInteractions(text)).toEqual([
      { userId: 'a', itemId: 'x', weight: 2, timestamp: Date.parse('2026-01-01T10:00:00Z') },
      { userId: 'a', itemId: 'y', weight: 8, category: 'toys' },
    ]);
  });

  it.each([
    ['userId,itemId\nu,\n', 'f.csv:2: itemId: must not be empty'],
    ['userId,itemId,weight\nu,i,abc\n', "f.csv:2: weight: 'abc' is not a number"],
    ['userId,itemId,weight\nu,i,-1\n', 'f.csv:2: weight: must be positive'],
    ['user,product_name\n', 'f.csv:1: itemId: header has no itemId column'],
    ['{"userId":"u"}\n', 'f.csv:1: itemId: missing'],
    ['{"userId":"u",\n', 'f.csv:1: (line): is not valid JSON'],
    [`userId,itemId\n${'u'.repeat(129)},i\n`, 'f.csv:2: userId: must be at most 128 characters'],
    ['userId,itemId,timestamp\nu,i,yesterday\n', "f.csv:2: timestamp: 'yesterday' is not a timestamp"],
  ])('refuses bad input naming file, line and field: %j', (text, message) => {
    expect(() => parseInteractions(text, 'f.csv')).toThrow(message);
  });
});

describe('readInteractionsFile', () => {
  it('streams a file and refuses an empty one', async () => {
    const directory = temporaryDirectory('affinity-input-');
    const good = join(directory, 'u.data');
    await writeFile(good, '1\t2\t5\t881250949\n1\t3\t4\t881250950\n');
    expect(await readInteractionsFile(good)).toHaveLength(2);
    const empty = join(directory, 'empty.csv');
    await writeFile(empty, 'userId,itemId\n');
    await expect(readInteractionsFile(empty)).rejects.toThrow('holds no interactions');
  });
});
