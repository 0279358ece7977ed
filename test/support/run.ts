/**
 * Runs a child process and resolves with its stdout, without blocking the
 * test worker's event loop. Fixture set-ups that chain several ffmpeg runs
 * must not use spawnSync: vitest's worker answers its runner over RPC with a
 * 60-second timeout, and a loop blocked longer than that (a busy machine,
 * a slow AV1 encode) ends the run with "Timeout calling onTaskUpdate" even
 * though every test passed.
 */
import { spawn } from 'node:child_process';

export type RunOptions = { timeoutMs?: number; maxBuffer?: number; cwd?: string; env?: NodeJS.ProcessEnv };

/** Runs `command args`; rejects with the last lines of stderr unless it exits 0. */
export function run(command: string, args: string[], options: RunOptions = {}): Promise<Buffer> {
  const { timeoutMs = 180_000, maxBuffer = 512 * 1024 * 1024 } = options;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let length = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      length += chunk.length;
      if (length > maxBuffer) child.kill('SIGKILL');
      else out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (status, signal) => {
      if (status === 0 && length <= maxBuffer) return resolve(Buffer.concat(out));
      const tail = Buffer.concat(err).toString().trim().split('\n').slice(-5).join(' | ');
      const why = length > maxBuffer ? `stdout over ${maxBuffer} bytes` : String(status ?? signal);
      reject(new Error(`${command} ${args.join(' ')} failed (${why}): ${tail}`));
    });
  });
}
