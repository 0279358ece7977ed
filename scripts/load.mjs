/**
 * `npm run load`: `h4mk serve` under sustained load (issue 6). Not part of
 * `npm test`; bounded in time for CI.
 *
 *   node scripts/load.mjs [--seconds S] [--connections C] [--minutes M]
 *   H4MK_LOAD_SECONDS=S overrides the default duration (30 s per endpoint)
 *
 * Starts `h4mk serve` (the built CLI, as a child process) on a generated
 * container, then runs autocannon with C connections (default 100) for S
 * seconds on the block endpoint (random blocks) and then on the seek
 * endpoint (random track and time). Then 200 clients each start a large
 * download and hang up mid-body. Prints requests/s, p50/p99 latency, the
 * server's RSS and open descriptors (/proc) before and after.
 *
 * Fails (exit 1) on any error, timeout or non-2xx answer, or when the
 * server holds more descriptors after the load than before it.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { abortMidBody, blockTargets, cannon, cannonFigures, makeContainer, procStats, seekTargets, startServe } from '../bench/lib/serve.mjs';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: process.env.H4MK_LOAD_SECONDS ?? '30' },
    connections: { type: 'string', default: '100' },
    minutes: { type: 'string', default: '10' },
  },
});
const SECONDS = Math.max(1, Number(args.seconds));
const CONNECTIONS = Math.max(1, Number(args.connections));
const started = Date.now();
const log = (msg) => process.stderr.write(`[load ${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}\n`);
const mib = (kib) => `${(kib / 1024).toFixed(1)} MiB`;

const dir = mkdtempSync(join(tmpdir(), 'h4mk-load-'));
const problems = [];
let server;
try {
  const containers = join(dir, 'containers');
  mkdirSync(containers);
  log(`writing a ${args.minutes}-minute container`);
  const reader = await makeContainer(join(containers, 'movie.h4mk'), { minutes: Number(args.minutes), payloadScale: 0.25 });
  const blocks = await blockTargets(reader, 5000);
  const seeks = seekTargets(reader, 5000);
  await reader.close();
  server = await startServe(containers, ['--log-level', 'info']);
  // Warm: the container is open and cached before the first count.
  await fetch(`${server.url}/v1/containers/movie.h4mk/manifest`).then((r) => r.arrayBuffer());
  const before = procStats(server.pid);
  log(`h4mk serve on ${server.url} (pid ${server.pid}): RSS ${mib(before.rssKiB)}, ${before.fds} descriptors`);

  let i = 0;
  const runs = {
    'GET /v1/containers/{name}/blocks/{i}': () => ({ path: `/v1/containers/movie.h4mk/blocks/${blocks[i++ % blocks.length].coreIndex}` }),
    'GET /v1/containers/{name}/seek': () => ((s) => ({ path: `/v1/containers/movie.h4mk/seek?track=${s.track}&pts_us=${s.ptsUs}` }))(seeks[i++ % seeks.length]),
  };
  const results = {};
  for (const [name, next] of Object.entries(runs)) {
    log(`${name}: ${CONNECTIONS} connections for ${SECONDS} s`);
    const f = cannonFigures(await cannon({ url: server.url, connections: CONNECTIONS, seconds: SECONDS, next }));
    results[name] = f;
    if (f.errors + f.timeouts + f.non2xx > 0) problems.push(`${name}: ${f.errors} errors, ${f.timeouts} timeouts, ${f.non2xx} non-2xx answers`);
    if (f.requests === 0) problems.push(`${name}: no request completed`);
  }
  log('200 clients hanging up mid-body');
  await abortMidBody(server.url, '/v1/containers/movie.h4mk', 200, 128 * 1024);
  // Sockets close asynchronously: give the server a moment, then count.
  let after = procStats(server.pid);
  for (let k = 0; k < 50 && after.fds > before.fds; k++) {
    await new Promise((r) => setTimeout(r, 100));
    after = procStats(server.pid);
  }
  const check = await fetch(`${server.url}/healthz`);
  if (check.status !== 200) problems.push(`healthz answered ${check.status} after the load`);
  if (after.fds > before.fds) problems.push(`descriptors grew from ${before.fds} to ${after.fds}`);

  console.log(`\nh4mk serve under load: ${CONNECTIONS} connections, ${SECONDS} s per endpoint, ${args.minutes}-minute container`);
  for (const [name, f] of Object.entries(results)) {
    console.log(
      `  ${name.padEnd(40)} ${Math.round(f.requestsPerSecond).toLocaleString('en-US').padStart(8)} req/s  p50 ${f.p50Ms} ms  p99 ${f.p99Ms} ms  max ${f.maxMs} ms  ${f.requests.toLocaleString('en-US')} requests, ${f.errors} errors, ${f.timeouts} timeouts, ${f.non2xx} non-2xx`,
    );
  }
  console.log(`  server RSS                               ${mib(before.rssKiB)} before, ${mib(after.rssKiB)} after (peak ${mib(after.hwmKiB)})`);
  console.log(`  server descriptors                       ${before.fds} before, ${after.fds} after (200 mid-body disconnects included)`);
} catch (error) {
  problems.push(error instanceof Error ? error.message : String(error));
} finally {
  if (server) {
    const code = await server.stop();
    if (code !== 0) problems.push(`h4mk serve exited with ${code} after SIGTERM`);
  }
  rmSync(dir, { recursive: true, force: true });
}
if (problems.length > 0) {
  console.log(`\nFAILED:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  process.exitCode = 1;
} else {
  console.log('\nOK: zero errors and zero non-2xx answers; no descriptor leaked');
}
