import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from './stats';

/**
 * The local stack in a child process (`nextoffer stack`), so that a benchmark's process holds only what it
 * measures: in Azure the broker and the databases are remote, not in the function's event loop.
 */
export interface ChildStack {
  /** The app settings the stack printed (local.settings.json Values). */
  readonly settings: Readonly<Record<string, string>>;
  stop(): Promise<void>;
}

export async function startChildStack(partitions: number): Promise<ChildStack> {
  const root = packageRoot();
  // No connection settings are passed on, so the child starts every service itself.
  const child = spawn(
    process.execPath,
    [join(root, 'bin', 'nextoffer.js'), 'stack', '--partitions', String(partitions)],
    {
      cwd: root,
      env: { PATH: process.env.PATH, EVENTHUB_NAME: 'clickstream' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
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
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
