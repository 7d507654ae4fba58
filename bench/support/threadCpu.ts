import { readFileSync } from 'node:fs';

/**
 * CPU time of single threads, from Linux's /proc. Node 20 reports CPU per process (`process.cpuUsage()`,
 * every thread together), but on a 2-core machine what limits a server is often one thread: its event
 * loop. The benchmarks split a run's CPU into the server's main thread, its other threads (the emulators'
 * worker threads, V8's GC helpers) and the load generator's thread.
 */

/** Clock ticks per second of /proc's CPU times (USER_HZ): 100 on every Linux architecture Node runs on. */
const TICKS_PER_SECOND = 100;

/**
 * User plus system CPU time in µs from the text of a `/proc/<pid>/task/<tid>/stat` file, or undefined
 * when the text does not have that shape. The thread's name (field 2) is in parentheses and may itself
 * hold spaces and parentheses, so fields are counted from the last `)`.
 */
export function cpuMicrosFromStat(stat: string): number | undefined {
  const end = stat.lastIndexOf(')');
  if (end === -1) return undefined;
  // After the name: state (field 3) … utime (14) and stime (15), so indices 11 and 12 from field 3.
  const fields = stat.slice(end + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return Number.isFinite(ticks) && fields.length > 12 ? (ticks * 1_000_000) / TICKS_PER_SECOND : undefined;
}

/** CPU time in µs of the thread whose stat file is at `path`; undefined where /proc is missing. */
export function threadCpuMicros(path: string): number | undefined {
  try {
    return cpuMicrosFromStat(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/** CPU time in µs of the calling thread (a worker thread included); undefined off Linux. */
export function currentThreadCpuMicros(): number | undefined {
  return threadCpuMicros('/proc/thread-self/stat');
}

/** CPU time in µs of every thread of this process together, from Node. */
export function processCpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}
