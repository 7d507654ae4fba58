import { ChildProcessByStdio, spawn } from 'node:child_process';
import { Readable } from 'node:stream';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from './stats';

/**
 * The local stack in a child process (`nextoffer stack`), so that a benchmark's process holds only what it
 * measures: in Azure the broker and the databases are remote, not in the function's event loop.
 */
export interface ChildStack {
  /** The app settings the stack printed (local.settings.json Values). */
  readonly settings: Readonly<Record<string, string>>;
  /** CPU time the stack's processes (node and redis-server) have used so far, in µs; undefined off Linux. */
  cpuMicros(): number | undefined;
  stop(): Promise<void>;
}

export async function startChildStack(partitions: number): Promise<ChildStack> {
  const root = packageRoot();
  // No connection settings are passed on, so the child starts every service itself.
  // With an 'ipc' entry the typings no longer infer the pipes; stdout and stderr are pipes.
  const child = spawn(
    process.execPath,
    [join(root, 'bin', 'nextoffer.js'), 'stack', '--partitions', String(partitions)],
    {
      cwd: root,
      env: { PATH: process.env.PATH, EVENTHUB_NAME: 'clickstream' },
      // The IPC channel is the child's lifeline: if this process dies without stop(), the channel
      // closes and the stack stops itself (redis-server included).
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    },
  ) as ChildProcessByStdio<null, Readable, Readable>;
  let stdout = '';
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  // The settings are printed once everything is provisioned; complete when the JSON parses.
  const values = await new Promise<Record<string, string>>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      try {
        const body = JSON.parse(stdout) as { Values?: Record<string, string> };
        if (body.Values) resolve(body.Values);
        else reject(new Error('nextoffer stack printed no Values'));
      } catch {
        // not complete yet
      }
    });
    void exited.then((code) => reject(new Error(`nextoffer stack exited with ${code}: ${stderr.trim()}`)));
  }).catch(async (error: unknown) => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    throw error;
  });
  return {
    settings: Object.freeze({ ...values }),
    cpuMicros: () => (child.pid === undefined ? undefined : processTreeCpuMicros(child.pid)),
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** User + system CPU of a process and its descendants from /proc, in µs (undefined where there is no /proc). */
function processTreeCpuMicros(pid: number): number | undefined {
  if (!existsSync(`/proc/${pid}/stat`)) return undefined;
  const ticksPerSecond = 100; // USER_HZ, 100 on every Linux architecture Node supports
  let total = 0;
  const visit = (id: number) => {
    try {
      const fields = readFileSync(`/proc/${id}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      total += ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / ticksPerSecond;
      for (const task of readdirSync(`/proc/${id}/task`)) {
        const children = readFileSync(`/proc/${id}/task/${task}/children`, 'utf8').trim();
        for (const child of children === '' ? [] : children.split(' ')) visit(Number(child));
      }
    } catch {
      // The process ended meanwhile: it no longer counts.
    }
  };
  visit(pid);
  return total;
}
