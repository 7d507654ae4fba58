import { Worker } from 'node:worker_threads';
import {
  cpuMicrosFromStat,
  currentThreadCpuMicros,
  processCpuMicros,
  threadCpuMicros,
} from '../../../bench/support/threadCpu';

// A real stat line of a worker thread (Linux 6.1), utime 1234 and stime 56 ticks, with a name that holds
// a space and a parenthesis to show the fields are counted from the last ')'.
const statLine = (name: string, utime: number, stime: number) =>
  `16711 (${name}) S 16700 16711 16700 0 -1 4194560 9212 0 0 0 ${utime} ${stime} 0 0 20 0 15 0 ` +
  '2829386 1254211584 31337 18446744073709551615 1 1 0 0 0 0 0 16781312 17922 0 0 0 -1 1 0 0 0 0 0';

describe('cpuMicrosFromStat', () => {
  it('adds user and system time, ticks of 10 ms', () => {
    expect(cpuMicrosFromStat(statLine('node', 1234, 56))).toBe(12_900_000);
  });

  it('counts the fields from the last parenthesis, whatever the thread is called', () => {
    expect(cpuMicrosFromStat(statLine('a) b (c) 7 8', 3, 4))).toBe(70_000);
  });

  it('refuses text of another shape', () => {
    expect(cpuMicrosFromStat('')).toBeUndefined();
    expect(cpuMicrosFromStat('16711 (node) S 1 2')).toBeUndefined();
  });
});

const onLinux = process.platform === 'linux' ? it : it.skip;

/** Keeps the calling thread busy until `read` says it has spent `micros` more CPU time. */
function spinFor(micros: number, read: () => number): void {
  const until = read() + micros;
  while (read() < until) Math.sqrt(Math.random());
}

// The same, in a worker thread, reading its own /proc/thread-self/stat (eval'd code cannot import TS).
const spinningWorker = (micros: number) => `
  const { readFileSync } = require('node:fs');
  const read = () => {
    const s = readFileSync('/proc/thread-self/stat', 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10000;
  };
  const until = read() + ${micros};
  while (read() < until) Math.sqrt(Math.random());
`;

describe('thread CPU on this machine', () => {
  onLinux('counts the calling thread alone while another thread spins', async () => {
    const mainPath = `/proc/self/task/${process.pid}/stat`;
    const readMain = () => threadCpuMicros(mainPath) as number;
    const processBefore = processCpuMicros();
    const selfBefore = currentThreadCpuMicros() as number;
    const worker = new Worker(spinningWorker(200_000), { eval: true });
    const wallStart = performance.now();
    spinFor(200_000, readMain);
    const wallMs = performance.now() - wallStart;
    await new Promise((resolve) => worker.once('exit', resolve));
    const selfSpent = (currentThreadCpuMicros() as number) - selfBefore;
    const processSpent = processCpuMicros() - processBefore;
    // Had the main thread's figure counted the spinning worker too, 200 ms of it would have taken about
    // half the wall time on two cores; one thread cannot spend more CPU than wall time passes.
    expect(wallMs).toBeGreaterThanOrEqual(190);
    // jest runs the test on the process's main thread: /proc/thread-self is the same thread.
    expect(selfSpent).toBeGreaterThanOrEqual(190_000);
    // The process's figure holds both threads' time (10 ms ticks: a tick of slack for each).
    expect(processSpent).toBeGreaterThanOrEqual(380_000);
  });

  it('answers undefined where there is no such file', () => {
    expect(threadCpuMicros('/proc/self/task/0/no-such-stat')).toBeUndefined();
  });
});
