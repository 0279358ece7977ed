/** `h4mk serve DIR` in a child process on a free loopback port, for tests that need the real server. */
import { type ChildProcess, spawn } from 'node:child_process';

/** Starts `node MAIN serve DIR --host 127.0.0.1 --port 0 …extra` and resolves its base URL once it listens. */
export function startServe(main: string, dir: string, extra: string[] = []): { child: ChildProcess; base: Promise<string> } {
  const child = spawn(process.execPath, [main, 'serve', dir, '--host', '127.0.0.1', '--port', '0', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const base = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`h4mk serve printed no URL: ${output}`)), 30_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (m !== null) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', (code) => reject(new Error(`h4mk serve exited (${code}): ${output}`)));
  });
  return { child, base };
}
