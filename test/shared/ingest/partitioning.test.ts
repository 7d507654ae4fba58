import { partitionForKey } from '../../../shared/ingest/partitioning';

const partitions = ['0', '1', '2', '3'];

describe('partitionForKey', () => {
  it('is FNV-1a of the UTF-8 bytes modulo the partition count', () => {
    // Published FNV-1a 32-bit vectors: "a" → 0xe40c292c, "foobar" → 0xbf9cf968.
    expect(partitionForKey('a', partitions)).toBe(String(0xe40c292c % 4));
    expect(partitionForKey('foobar', partitions)).toBe(String(0xbf9cf968 % 4));
    expect(partitionForKey('foobar', ['x', 'y', 'z'])).toBe(['x', 'y', 'z'][0xbf9cf968 % 3]);
  });

  it('sends a key to the same partition every time, and spreads many keys evenly', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 10_000; i++) {
      const key = `user-${i}`;
      const partition = partitionForKey(key, partitions);
      expect(partitionForKey(key, partitions)).toBe(partition);
      counts.set(partition, (counts.get(partition) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual(partitions);
    for (const count of counts.values()) expect(Math.abs(count - 2_500)).toBeLessThan(250);
  });

  it('hashes non-ASCII keys by their UTF-8 bytes and refuses an empty partition list', () => {
    // FNV-1a over the UTF-8 bytes, written out here: the published vectors above are all ASCII.
    const fnv1aOfUtf8 = (key: string) => {
      let hash = 0x811c9dc5;
      for (const byte of Buffer.from(key, 'utf8')) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
      return hash;
    };
    const many = Array.from({ length: 97 }, (_, i) => String(i));
    for (const key of ['ünïcode', 'user-ü', 'ü-user', '用户-42', 'emoji-😀', 'user-1']) {
      expect(partitionForKey(key, many)).toBe(String(fnv1aOfUtf8(key) % 97));
    }
    expect(() => partitionForKey('a', [])).toThrow(RangeError);
  });
});
