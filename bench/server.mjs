/**
 * Server benchmark (issue 6): block fetches from `h4mk serve` against nginx
 * serving the same byte ranges of the same file, measured in the same run.
 *
 *   node bench/server.mjs [--minutes M] [--payload-scale P] [--seconds S] [--connections C] [--rounds R] [--targets N] [--keep]
 *   node bench/run.mjs --only server [-- ARGS]
 *
 * --minutes M        container length (default 10: ~18k video, ~28k audio, 6k control blocks)
 * --payload-scale P  payload size factor (1 = real sizes; default 1)
 * --seconds S        duration of each autocannon run (default 10)
 * --connections C    concurrent keep-alive connections (default 50)
 * --rounds R         rounds; each round runs every subject once, in rotated order (default 3)
 * --targets N        random blocks requested, cycled (default 2000, fixed seed)
 *
 * Subjects, each over the same N blocks:
 *   nginx             GET /movie.h4mk with `Range: bytes=a-b`, the block's CORE chunk
 *                     (Debian nginx, the test suite's config: 1 worker, sendfile, keep-alive, access log)
 *   h4mk blocks       GET /v1/containers/movie.h4mk/blocks/{i}: the stored payload, its
 *                     SHA-256 checked against the index before sending (info-level JSON logs),
 *                     default settings: verified responses kept in the 32 MiB block cache
 *                     (the N targets fit in it: after warm-up this measures cache hits)
 *   h4mk blocks, no cache   the same against a second `h4mk serve --block-cache 0`:
 *                     every request reads the file and checks the SHA-256
 *   h4mk raw range    GET /v1/containers/movie.h4mk with the same Range header as nginx
 * Figures: requests/s (autocannon's mean of per-second counts), p50/p99
 * latency, and the server process's CPU time per request (/proc: with one
 * autocannon process on a small machine the load generator can saturate
 * before nginx does, so req/s understates nginx; CPU per request does not);
 * medians over rounds. Ratio = h4mk ÷ nginx; goal ≥ 0.5.
 * Table on stdout; bench/out/server.json with `rows` for bench/report.mjs.
 */
import { copyFileSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { blockTargets, cannon, cannonFigures, loadNginxSupport, makeContainer, procCpuMs, procStats, startServe } from './lib/serve.mjs';
import { fmtBytes, fmtInt, fmtNum, median, table } from './lib/stats.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    'payload-scale': { type: 'string', default: '1' },
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '3' },
    targets: { type: 'string', default: '2000' },
    keep: { type: 'boolean', default: false },
  },
});
const MINUTES = Number(args.minutes);
const SECONDS = Math.max(1, Number(args.seconds));
const CONNECTIONS = Math.max(1, Number(args.connections));
const ROUNDS = Math.max(1, Number(args.rounds));
const TARGETS = Math.max(1, Number(args.targets));

const started = Date.now();
const log = (msg) => process.stderr.write(`[server ${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}\n`);
const dir = mkdtempSync(join(tmpdir(), 'h4mk-server-bench-'));
const out = {
  date: new Date().toISOString(),
  machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version },
  loadAverageAtStart: loadavg(),
  args: { minutes: MINUTES, payloadScale: Number(args['payload-scale']), seconds: SECONDS, connections: CONNECTIONS, rounds: ROUNDS, targets: TARGETS },
};

let nginx;
let server;
let uncached;
try {
  const containers = join(dir, 'containers');
  mkdirSync(containers);
  log(`writing a ${MINUTES}-minute container`);
  const path = join(containers, 'movie.h4mk');
  const reader = await makeContainer(path, { minutes: MINUTES, payloadScale: Number(args['payload-scale']) });
  const targets = await blockTargets(reader, TARGETS);
  out.container = {
    bytes: statSync(path).size,
    blocks: reader.blockCount,
    meanTargetChunkBytes: targets.reduce((n, t) => n + t.last - t.first + 1, 0) / targets.length,
  };
  await reader.close();

  const { startNginx } = await loadNginxSupport();
  nginx = await startNginx();
  // The same file: a hard link in nginx's root (a copy across filesystems).
  try {
    linkSync(path, join(nginx.root, 'movie.h4mk'));
  } catch {
    copyFileSync(path, join(nginx.root, 'movie.h4mk'));
  }
  server = await startServe(containers, ['--log-level', 'info']);
  uncached = await startServe(containers, ['--log-level', 'info', '--block-cache', '0']);
  // master_process off: the pid in nginx.pid is the one process that serves.
  const nginxPid = Number(readFileSync(join(dirname(nginx.root), 'nginx.pid'), 'utf8'));
  log(`nginx on ${nginx.url('')} (pid ${nginxPid}), h4mk serve on ${server.url} (pid ${server.pid})`);

  // The same bytes from all three before timing anything.
  for (const t of targets.slice(0, 50)) {
    const range = { range: `bytes=${t.first}-${t.last}` };
    const a = Buffer.from(await (await fetch(nginx.url('movie.h4mk'), { headers: range })).arrayBuffer());
    const b = Buffer.from(await (await fetch(`${server.url}/v1/containers/movie.h4mk`, { headers: range })).arrayBuffer());
    const c = Buffer.from(await (await fetch(`${server.url}/v1/containers/movie.h4mk/blocks/${t.coreIndex}`)).arrayBuffer());
    if (!a.equals(b) || a.length !== t.last - t.first + 1 || !a.includes(c)) throw new Error(`block ${t.coreIndex}: the servers disagree`);
  }

  const cycle = () => {
    let i = 0;
    return () => targets[i++ % targets.length];
  };
  const pidOf = { nginx: nginxPid, 'h4mk blocks': server.pid, 'h4mk blocks, no cache': uncached.pid, 'h4mk raw range': server.pid };
  const subjects = {
    nginx: () => {
      const next = cycle();
      return { url: nginx.url(''), next: () => ((t) => ({ path: '/movie.h4mk', headers: { range: `bytes=${t.first}-${t.last}` } }))(next()) };
    },
    'h4mk blocks': () => {
      const next = cycle();
      return { url: server.url, next: () => ({ path: `/v1/containers/movie.h4mk/blocks/${next().coreIndex}` }) };
    },
    'h4mk blocks, no cache': () => {
      const next = cycle();
      return { url: uncached.url, next: () => ({ path: `/v1/containers/movie.h4mk/blocks/${next().coreIndex}` }) };
    },
    'h4mk raw range': () => {
      const next = cycle();
      return { url: server.url, next: () => ((t) => ({ path: '/v1/containers/movie.h4mk', headers: { range: `bytes=${t.first}-${t.last}` } }))(next()) };
    },
  };
  const names = Object.keys(subjects);
  const runs = Object.fromEntries(names.map((n) => [n, []]));
  out.serverRssKiB = { before: procStats(server.pid).rssKiB };
  // Warm-up: page cache, JIT, the reader's segment tables.
  for (const name of names) await cannon({ ...subjects[name](), connections: CONNECTIONS, seconds: Math.min(3, SECONDS) });
  for (let round = 0; round < ROUNDS; round++) {
    const order = names.map((_, i) => names[(i + round) % names.length]);
    for (const name of order) {
      const cpu0 = procCpuMs(pidOf[name]);
      const figures = cannonFigures(await cannon({ ...subjects[name](), connections: CONNECTIONS, seconds: SECONDS }));
      // Server CPU per request: less sensitive than req/s to a load generator that saturates first.
      figures.serverCpuUsPerRequest = ((procCpuMs(pidOf[name]) - cpu0) * 1000) / figures.requests;
      if (figures.errors + figures.timeouts + figures.non2xx > 0)
        throw new Error(`${name}: ${figures.errors} errors, ${figures.timeouts} timeouts, ${figures.non2xx} non-2xx`);
      runs[name].push(figures);
      log(
        `round ${round + 1}/${ROUNDS} ${name.padEnd(15)} ${fmtInt(figures.requestsPerSecond)} req/s, p50 ${figures.p50Ms} ms, p99 ${figures.p99Ms} ms, server CPU ${fmtNum(figures.serverCpuUsPerRequest, 1)} µs/request`,
      );
    }
  }
  out.serverRssKiB.after = procStats(server.pid).rssKiB;
  out.serverRssKiB.peak = procStats(server.pid).hwmKiB;
  out.subjects = Object.fromEntries(
    names.map((n) => [
      n,
      {
        requestsPerSecond: median(runs[n].map((x) => x.requestsPerSecond)),
        p50Ms: median(runs[n].map((x) => x.p50Ms)),
        p99Ms: median(runs[n].map((x) => x.p99Ms)),
        bytesPerSecond: median(runs[n].map((x) => x.bytesPerSecond)),
        serverCpuUsPerRequest: median(runs[n].map((x) => x.serverCpuUsPerRequest)),
        runs: runs[n],
      },
    ]),
  );
} finally {
  await server?.stop();
  await uncached?.stop();
  await nginx?.stop();
  if (!args.keep) rmSync(dir, { recursive: true, force: true });
}
out.elapsedS = (Date.now() - started) / 1000;
out.loadAverageAtEnd = loadavg();

const S = out.subjects;
const ratio = (name) => S[name].requestsPerSecond / S.nginx.requestsPerSecond;
out.ratioBlocks = ratio('h4mk blocks');
out.ratioBlocksNoCache = ratio('h4mk blocks, no cache');
out.ratioRawRange = ratio('h4mk raw range');
const ok = (b) => (b ? 'MET' : 'MISSED');
table(
  `server: block fetches, ${CONNECTIONS} connections × ${SECONDS} s, median of ${ROUNDS} rounds; ${fmtInt(out.container.blocks)}-block container (${fmtBytes(out.container.bytes)}), ${TARGETS} random blocks (mean ${fmtBytes(out.container.meanTargetChunkBytes)})`,
  [
    ...Object.entries(S).map(([name, s]) => [
      name,
      `${fmtInt(s.requestsPerSecond)} req/s`,
      `p50 ${fmtNum(s.p50Ms, 1)} ms, p99 ${fmtNum(s.p99Ms, 1)} ms, ${fmtBytes(s.bytesPerSecond)}/s, server CPU ${fmtNum(s.serverCpuUsPerRequest, 1)} µs/req; runs ${s.runs.map((r) => fmtInt(r.requestsPerSecond)).join(', ')}`,
    ]),
    ['ratio h4mk blocks / nginx', fmtNum(out.ratioBlocks, 3), `p99 ${fmtNum(S['h4mk blocks'].p99Ms, 1)} ms vs ${fmtNum(S.nginx.p99Ms, 1)} ms`],
    [
      'ratio h4mk blocks, no cache / nginx',
      fmtNum(out.ratioBlocksNoCache, 3),
      `p99 ${fmtNum(S['h4mk blocks, no cache'].p99Ms, 1)} ms vs ${fmtNum(S.nginx.p99Ms, 1)} ms`,
    ],
    ['ratio h4mk raw range / nginx', fmtNum(out.ratioRawRange, 3), `p99 ${fmtNum(S['h4mk raw range'].p99Ms, 1)} ms vs ${fmtNum(S.nginx.p99Ms, 1)} ms`],
    ['goal: blocks ≥ 0.5 × nginx', ok(out.ratioBlocks >= 0.5), `without the block cache: ${ok(out.ratioBlocksNoCache >= 0.5)}`],
    [
      'server CPU per request, nginx / h4mk blocks',
      fmtNum(S.nginx.serverCpuUsPerRequest / S['h4mk blocks'].serverCpuUsPerRequest, 3),
      `capacity ratio if the server, not the load generator, were the limit; no cache ${fmtNum(S.nginx.serverCpuUsPerRequest / S['h4mk blocks, no cache'].serverCpuUsPerRequest, 3)}`,
    ],
    [
      'h4mk serve RSS',
      `${fmtNum(out.serverRssKiB.after / 1024, 1)} MiB`,
      `before ${fmtNum(out.serverRssKiB.before / 1024, 1)} MiB, peak ${fmtNum(out.serverRssKiB.peak / 1024, 1)} MiB`,
    ],
  ],
);
console.log(
  `load average ${out.loadAverageAtStart.map((x) => x.toFixed(2)).join(' ')} at start, ${out.loadAverageAtEnd.map((x) => x.toFixed(2)).join(' ')} at end (autocannon, nginx and the server share ${out.machine.cores} cores)`,
);

out.rows = [];
for (const name of ['h4mk blocks', 'h4mk blocks, no cache', 'h4mk raw range']) {
  const s = S[name];
  out.rows.push({
    section: 'server',
    metric: 'block fetch throughput',
    unit: 'req/s',
    better: 'higher',
    subject: name,
    value: s.requestsPerSecond,
    baseline: 'nginx, same ranges, same run',
    baselineValue: S.nginx.requestsPerSecond,
    ratio: s.requestsPerSecond / S.nginx.requestsPerSecond,
    note: `goal ≥ 0.5; ${CONNECTIONS} connections`,
  });
  out.rows.push({
    section: 'server',
    metric: 'block fetch p99 latency',
    unit: 'ms',
    better: 'lower',
    subject: name,
    value: s.p99Ms,
    baseline: 'nginx, same ranges, same run',
    baselineValue: S.nginx.p99Ms,
    ratio: s.p99Ms / S.nginx.p99Ms,
    note: `${CONNECTIONS} connections`,
  });
  out.rows.push({
    section: 'server',
    metric: 'server CPU per block fetch',
    unit: 'µs',
    better: 'lower',
    subject: name,
    value: s.serverCpuUsPerRequest,
    baseline: 'nginx, same ranges, same run',
    baselineValue: S.nginx.serverCpuUsPerRequest,
    ratio: s.serverCpuUsPerRequest / S.nginx.serverCpuUsPerRequest,
    note: 'user+system CPU of the server process ÷ requests (/proc)',
  });
}
mkdirSync(join(here, 'out'), { recursive: true });
writeFileSync(join(here, 'out', 'server.json'), `${JSON.stringify(out, null, 2)}\n`);
console.log(`JSON: ${join(here, 'out', 'server.json')}`);
