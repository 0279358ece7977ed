/**
 * Helpers shared by the server benchmark (bench/server.mjs) and the load
 * test (scripts/load.mjs): a container from the benchmark workload, `h4mk
 * serve` as a child process, its RSS and open descriptors from /proc, the
 * test suite's nginx (test/support/nginx.ts, transpiled on the fly with the
 * project's own TypeScript), and autocannon runs.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import autocannon from 'autocannon';
import ts from 'typescript';
import { FileSource, H4mkReader } from '../../dist/node.js';
import { packH4mk } from './pack.mjs';
import { materialise, rng } from './workload.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');

/** Writes `minutes` of the benchmark movie (video, audio, control) to `path`; returns its reader. */
export async function makeContainer(path, { minutes = 10, payloadScale = 1 } = {}) {
  const cols = materialise({ durationUs: Math.round(minutes * 60e6), payloadScale });
  await packH4mk(cols, path, { compression: 'none' });
  return H4mkReader.open(await FileSource.open(path));
}

/**
 * `n` block targets drawn with a fixed seed: core_index, and the CORE
 * chunk's byte range (what nginx serves for the same block).
 */
export async function blockTargets(reader, n, seed = 42) {
  const r = rng(seed);
  const out = [];
  for (let i = 0; i < n; i++) {
    const info = await reader.blockInfo(r.int(0, reader.blockCount - 1));
    out.push({ coreIndex: info.coreIndex, first: info.offset, last: info.offset + info.chunkLength - 1, track: info.trackId, ptsUs: info.ptsUs });
  }
  return out;
}

/** Seek targets: a track id and a time, fixed seed. */
export function seekTargets(reader, n, seed = 7) {
  const r = rng(seed);
  const tracks = reader.tracks().filter((t) => t.lastPtsUs !== null);
  return Array.from({ length: n }, () => {
    const t = tracks[r.int(0, tracks.length - 1)];
    return { track: t.id, ptsUs: r.int(0, t.lastPtsUs) };
  });
}

/** Starts `h4mk serve DIR --port 0 …`; resolves once it listens. */
export function startServe(dir, extraArgs = [], env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'dist', 'cli', 'main.js'), 'serve', dir, '--port', '0', ...extraArgs], {
      env: { ...process.env, ...env },
      // Logs (one JSON line per request event) go nowhere, as they would to a log shipper's pipe.
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    const exited = new Promise((r) => child.once('exit', (code, signal) => r(code ?? signal)));
    child.stderr.on('data', (c) => {
      stderr += c;
      const m = /listening on (http:\/\/\S+)/.exec(stderr);
      if (m !== null)
        resolve({
          child,
          pid: child.pid,
          url: m[1],
          exited,
          stop: async () => {
            child.kill('SIGTERM');
            return exited;
          },
        });
    });
    exited.then((code) => reject(new Error(`h4mk serve exited (${code}): ${stderr}`)));
  });
}

/** RSS (KiB) and open file descriptors of process `pid`, from /proc. */
export function procStats(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rssKiB: kib('VmRSS'), hwmKiB: kib('VmHWM'), fds: readdirSync(`/proc/${pid}/fd`).length };
}

/** CPU time (user + system, ms) process `pid` has used so far, from /proc (clock ticks of 10 ms). */
export function procCpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** The test suite's nginx helper, loaded from its TypeScript source. */
export async function loadNginxSupport() {
  const source = readFileSync(join(root, 'test', 'support', 'nginx.ts'), 'utf8');
  const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
  const file = join(here, '..', 'out', '.nginx-support.mjs');
  writeFileSync(file, js);
  return import(pathToFileURL(file).href);
}

/**
 * Runs autocannon against `url` for `seconds` with `connections`; each
 * request is made by `next()` → { path, headers }.
 */
export function cannon({ url, connections, seconds, next }) {
  return new Promise((resolve, reject) => {
    const stop = () => instance.stop();
    const instance = autocannon(
      {
        url,
        connections,
        duration: seconds,
        pipelining: 1,
        requests: [
          {
            setupRequest: (request) => {
              const { path, headers = {} } = next();
              return { ...request, method: 'GET', path, headers: { ...request.headers, ...headers } };
            },
          },
        ],
      },
      (error, result) => {
        process.off('SIGINT', stop);
        if (error) reject(error);
        else resolve(result);
      },
    );
    process.once('SIGINT', stop);
  });
}

/** The figures of an autocannon result that the reports print. */
export function cannonFigures(r) {
  return {
    requests: r.requests.total,
    requestsPerSecond: r.requests.average,
    bytesPerSecond: r.throughput.average,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    maxMs: r.latency.max,
    errors: r.errors,
    timeouts: r.timeouts,
    non2xx: r.non2xx,
    status2xx: r['2xx'],
  };
}

/**
 * Opens `n` connections that request `path` and hang up after `after`
 * response bytes (or at once when 0): clients going away mid-body.
 */
export async function abortMidBody(url, path, n, after = 64 * 1024) {
  const u = new URL(url);
  await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise((resolve) => {
          const socket = connect(Number(u.port), u.hostname, () => socket.write(`GET ${path} HTTP/1.1\r\nHost: ${u.host}\r\n\r\n`));
          let received = 0;
          socket.on('data', (c) => {
            received += c.length;
            if (received >= after) socket.destroy();
          });
          socket.on('close', resolve);
          socket.on('error', resolve);
        }),
    ),
  );
}
