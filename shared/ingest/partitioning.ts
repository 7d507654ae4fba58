/**
 * The partition a user's events go to: FNV-1a (32-bit) of the id's UTF-8 bytes, modulo the partition count.
 *
 * Why not the service's partition-key hash: a batch sent with a partition key holds one key, so events of
 * different users could never share a send. Choosing the partition here lets the publisher coalesce all
 * users of a partition into one batch while each user still lands in one partition, in order, from every
 * process. Like partition keys, the mapping moves users only if the partition count changes.
 */
export function partitionForKey(key: string, partitionIds: readonly string[]): string {
  if (partitionIds.length === 0) throw new RangeError('partitionForKey needs at least one partition');
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(key, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return partitionIds[hash % partitionIds.length] as string;
}
