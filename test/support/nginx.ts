/**
 * A real nginx for the HTTP tests: Debian's /usr/sbin/nginx (CI installs it
 * with apt), started on 127.0.0.1 with its own config in a temp dir, serving a
 * temp root through two server blocks:
 * - `url(...)`: ranges on (the normal static-file server);
 * - `noRangesUrl(...)`: `max_ranges 0`, so every range request gets a 200 with
 *   the whole file.
 * Each request is logged as one JSON line with its Range and conditional
 * headers, so tests count requests and check that no range is open-ended.
 *
 * Config choices, from /work/shared/ANCHORS.md: `tcp_nopush off` (Debian's
 * stock `on` delayed some tail answers by ~40 ms), `sendfile on`, keep-alive.
 * `master_process off` keeps one process that we own and stop by pid, and
 * reads the temp root as the user running the tests.
 *
 * Missing nginx is a test failure with a clear message, unless H4MK_NO_NGINX=1
 * (then callers skip); H4MK_NGINX points at another binary.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { access, constants, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The nginx binary the tests use. */
export const NGINX_BINARY = process.env.H4MK_NGINX ?? '/usr/sbin/nginx';

/** True when the environment asks to skip the nginx tests (H4MK_NO_NGINX=1). */
export const NGINX_SKIPPED = process.env.H4MK_NO_NGINX === '1';

/** One request as nginx logged it. */
export type AccessLogEntry = {
  /** Port of the server block (tells the ranges and no-ranges servers apart). */
  port: number;
  method: string;
  /** Request target as sent: path and query string, verbatim. */
  uri: string;
  status: number;
  /** Body bytes nginx sent (less than the file for a cut-short body). */
  bytesSent: number;
  /** The Range header, '' when absent. */
  range: string;
  ifRange: string;
  ifMatch: string;
  ifUnmodifiedSince: string;
  /** nginx's connection serial number: equal numbers mean a reused keep-alive connection. */
  connection: number;
  /** Requests so far on that connection (1 for a new connection). */
  connectionRequests: number;
};

/** A running nginx. */
export type Nginx = {
  /** The directory served by both server blocks. */
  root: string;
  /** Port of the ranges-enabled server. */
  port: number;
  /** Port of the server with `max_ranges 0`. */
  noRangesPort: number;
  /** `http://127.0.0.1:port/<path>` on the ranges-enabled server. */
  url(path: string): string;
  /** The same file on the server that answers 200 to every range request. */
  noRangesUrl(path: string): string;
  /** Every request logged so far. */
  log(): Promise<AccessLogEntry[]>;
  /**
   * The requests logged after `mark` (the log length at some earlier time):
   * waits until at least `atLeast` are there, then a little more so that
   * late lines are not missed (nginx logs just after it sends the answer).
   */
  logSince(mark: number, atLeast?: number): Promise<AccessLogEntry[]>;
  /**
   * The log length once nginx has stopped writing: lines of answers a client
   * has already received can land a moment later, so this waits until the
   * length holds still for 50 ms. Use it as the `mark` of {@link logSince}.
   */
  mark(): Promise<number>;
  /** The nginx error log (for failure messages). */
  errorLog(): Promise<string>;
  stop(): Promise<void>;
};

const LOG_FORMAT = [
  '{"port":$server_port',
  '"method":"$request_method"',
  '"uri":"$request_uri"',
  '"status":$status',
  '"bytesSent":$body_bytes_sent',
  '"range":"$http_range"',
  '"ifRange":"$http_if_range"',
  '"ifMatch":"$http_if_match"',
  '"ifUnmodifiedSince":"$http_if_unmodified_since"',
  '"connection":$connection',
  '"connectionRequests":$connection_requests}',
].join(',');

function config(dir: string, root: string, port: number, noRangesPort: number): string {
  return `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  default_type application/octet-stream;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  log_format h4mk_ranges escape=json '${LOG_FORMAT}';
  access_log ${dir}/access.log h4mk_ranges;
  sendfile on;
  tcp_nopush off;
  tcp_nodelay on;
  keepalive_timeout 60s;
  keepalive_requests 100000;
  open_file_cache off;
  etag on;
  server {
    listen 127.0.0.1:${port};
    root ${root};
    location / { }
  }
  server {
    listen 127.0.0.1:${noRangesPort};
    root ${root};
    max_ranges 0;
    location / { }
  }
}
`;
}

/** A port that was free a moment ago (nginx's bind can still lose a race: start retries). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Throws a clear error when nginx is missing (the caller decides about H4MK_NO_NGINX). */
export async function requireNginx(): Promise<void> {
  try {
    await access(NGINX_BINARY, constants.X_OK);
  } catch {
    throw new Error(
      `nginx is required for the HTTP tests but ${NGINX_BINARY} is missing: install it (apt-get install -y nginx), ` +
        'point H4MK_NGINX at another binary, or set H4MK_NO_NGINX=1 to skip these tests',
    );
  }
}

/** Starts nginx serving a fresh temp root; call `stop()` when done. */
export async function startNginx(): Promise<Nginx> {
  await requireNginx();
  const dir = await mkdtemp(join(tmpdir(), 'h4mk-nginx-'));
  const root = join(dir, 'root');
  await mkdir(root);
  await mkdir(join(dir, 'tmp'));
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const noRangesPort = await freePort();
    if (port === noRangesPort) continue;
    await writeFile(join(dir, 'nginx.conf'), config(dir, root, port, noRangesPort));
    try {
      const child = await launch(dir, port, noRangesPort);
      return handle(dir, root, port, noRangesPort, child);
    } catch (error) {
      lastError = error;
    }
  }
  await rm(dir, { recursive: true, force: true });
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}

async function launch(dir: string, port: number, noRangesPort: number): Promise<ChildProcess> {
  const child = spawn(NGINX_BINARY, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  let exited: string | null = null;
  child.once('exit', (code, signal) => {
    exited = `exited with ${code ?? signal}`;
  });
  child.once('error', (error) => {
    exited = `failed to start: ${error.message}`;
  });
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (exited !== null) {
      const log = await readFile(join(dir, 'error.log'), 'utf8').catch(() => '');
      throw new Error(`nginx ${exited}: ${(stderr + log).trim()}`);
    }
    if ((await canConnect(port)) && (await canConnect(noRangesPort))) return child;
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill('SIGKILL');
  throw new Error(`nginx did not listen on 127.0.0.1:${port} within 10 s: ${stderr.trim()}`);
}

function handle(dir: string, root: string, port: number, noRangesPort: number, child: ChildProcess): Nginx {
  const accessLog = join(dir, 'access.log');
  const log = async (): Promise<AccessLogEntry[]> => {
    const text = await readFile(accessLog, 'utf8').catch(() => '');
    return text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as AccessLogEntry);
  };
  return {
    root,
    port,
    noRangesPort,
    url: (path) => `http://127.0.0.1:${port}/${path.replace(/^\//, '')}`,
    noRangesUrl: (path) => `http://127.0.0.1:${noRangesPort}/${path.replace(/^\//, '')}`,
    log,
    async logSince(mark, atLeast = 0) {
      const deadline = Date.now() + 2000;
      let entries = (await log()).slice(mark);
      while (entries.length < atLeast && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
        entries = (await log()).slice(mark);
      }
      await new Promise((r) => setTimeout(r, 50));
      return (await log()).slice(mark);
    },
    async mark() {
      let length = (await log()).length;
      for (;;) {
        await new Promise((r) => setTimeout(r, 50));
        const now = (await log()).length;
        if (now === length) return now;
        length = now;
      }
    },
    errorLog: () => readFile(join(dir, 'error.log'), 'utf8').catch(() => ''),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        // SIGQUIT: graceful shutdown of this one process (we started it; its pid is ours).
        child.kill('SIGQUIT');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await gone;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
