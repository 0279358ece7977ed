/**
 * `h4mk serve DIR [--host H] [--port P] [--origin URL]`: the HTTP service
 * (src/server). Logs are JSON lines (pino) on stdout; the address it listens
 * on is also printed on stderr as `h4mk: listening on URL`. SIGTERM or
 * SIGINT drains: new requests get 503, in-flight ones finish, then exit 0
 * (exit 1 when requests were still running after --drain-timeout).
 *
 * Credentials come from files (--write-token-file, --read-token-file,
 * --secret-file) or from $H4MK_WRITE_TOKEN, $H4MK_READ_TOKEN,
 * $H4MK_SHARE_SECRET; never from the command line, where other users of
 * the machine could read them.
 *
 * Safe defaults for a server on a developer's machine: no CORS headers
 * unless `--cors ORIGIN` (so no other web page can read it), and, for a
 * request arriving on a loopback address, only Host `localhost`,
 * `127.0.0.1` or `[::1]` (DNS rebinding) unless `--allowed-host H`.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { ServerOptions } from '../../server/index.js';
import { BufferedLog } from '../../server/log-stream.js';
import { parseHost } from '../../server/plugins/auth.js';
import { loadSecret } from '../../server/secrets.js';
import { aboutPath, failure, inputError, isSystemError } from '../errors.js';
import { requireDirectory } from '../output-guard.js';
import type { Output } from '../output.js';

type ServeOptions = {
  host: string;
  port: number;
  origin?: string;
  writeTokenFile?: string;
  readTokenFile?: string;
  secretFile?: string;
  publicReads?: boolean;
  maxUpload?: number;
  maxBody?: number;
  cors: string[];
  corsOrigin?: string;
  allowedHost: string[];
  cacheMaxAge?: number;
  blockCache?: number;
  bodyMemory?: number;
  blockMemory?: number;
  maxConnections?: number;
  headersTimeout?: number;
  idleTimeout?: number;
  keepAliveTimeout?: number;
  requestTimeout?: number;
  drainTimeout: number;
  logLevel: string;
};

/** Collects a repeatable option. */
function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** A CORS origin: `*` or scheme://host[:port], exactly as browsers send it in `Origin`. */
function checkOrigin(value: string): string {
  if (value === '*') return value;
  let origin: string | null = null;
  try {
    origin = new URL(value).origin;
  } catch {
    origin = null;
  }
  if (origin === null || origin === 'null' || origin !== value)
    throw inputError(`--cors: expected * or an origin such as https://app.example (no path, no trailing slash); got ${JSON.stringify(value)}`);
  return value;
}

/** Parses a positive whole number. */
function parseCount(value: string): number {
  const n = /^\d{1,9}$/.test(value) ? Number(value) : 0;
  if (n < 1) throw new InvalidArgumentError('expected a whole number ≥ 1');
  return n;
}

/** Parses a TCP port (0: any free port). */
function parsePort(value: string): number {
  const n = /^\d{1,5}$/.test(value) ? Number(value) : -1;
  if (n < 0 || n > 65535) throw new InvalidArgumentError('expected a port number 0-65535');
  return n;
}

/** Parses a byte count with an optional binary suffix: 1048576, 512K, 64M, 4G. */
export function parseSize(value: string): number {
  const m = /^(\d{1,15})([KMGT]i?B?)?$/i.exec(value.trim());
  const unit = m?.[2]?.[0]?.toUpperCase();
  const n = m === null ? Number.NaN : Number(m[1]) * (unit === undefined ? 1 : 1024 ** ('KMGT'.indexOf(unit) + 1));
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a size in bytes, e.g. 1048576, 64M or 4G');
  return n;
}

/** {@link parseSize}, or 0. */
function parseSizeOrZero(value: string): number {
  return value.trim() === '0' ? 0 : parseSize(value);
}

function parseSeconds(value: string): number {
  const n = /^\d{1,10}$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError('expected a whole number of seconds');
  return n;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** A secret from its file or environment variable; unreadable or too short is a usage error. */
async function secret(file: string | undefined, env: string): Promise<string | undefined> {
  try {
    return await loadSecret(file, env);
  } catch (error) {
    if (error instanceof TypeError) throw inputError(error.message);
    if (error instanceof Error && 'code' in error) throw inputError(`${file}: cannot read the secret file (${String(error.code)})`);
    throw error;
  }
}

/** Adds the `serve` verb. */
export function registerServe(program: Command, out: Output): void {
  program
    .command('serve')
    .description('serve the containers of DIR over HTTP: REST views, the raw files with ranges, verified uploads')
    .argument('[dir]', 'directory of containers (omit with --origin)')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0: any free port)', parsePort, 8080)
    .option('--origin <url>', 'serve the containers of this HTTP origin (read with range requests) instead of DIR; read-only')
    .option('--write-token-file <file>', 'bearer token that allows PUT and DELETE (else $H4MK_WRITE_TOKEN; neither: writes disabled)')
    .option('--read-token-file <file>', 'bearer token that reads then need (else $H4MK_READ_TOKEN; neither: reads are public)')
    .option('--secret-file <file>', 'secret of signed URLs from h4mk share (else $H4MK_SHARE_SECRET); makes reads need a signed URL or a token')
    .option('--public-reads', 'keep reads public even with a read token or signing secret')
    .option('--max-upload <size>', 'largest upload (e.g. 512M, 4G; default 4G)', parseSize)
    .option('--max-body <size>', 'largest container sent as a seed request body (default 64M)', parseSize)
    .option(
      '--cors <origin>',
      'send CORS headers letting this origin (or *) read from a web page; repeatable (default: none, only same-origin pages)',
      collect,
      [],
    )
    .addOption(new Option('--cors-origin <origin>', 'former spelling of --cors (none: no CORS headers)').hideHelp())
    .option(
      '--allowed-host <host>',
      'also answer requests for this Host (name or name:port; * turns the check off); repeatable. Requests arriving on a loopback address are answered by default only for localhost, 127.0.0.1 and [::1] (DNS rebinding)',
      collect,
      [],
    )
    .option('--cache-max-age <seconds>', 'max-age of immutable responses (default 31536000)', parseSeconds)
    .option('--block-cache <size>', 'memory for verified block responses, LRU (default 32M; 0 disables)', parseSizeOrZero)
    .option('--body-memory <size>', 'memory for seed request bodies being received, all together; beyond it 503 (default 128M)', parseSize)
    .option('--block-memory <size>', 'memory for block payloads (decompressed or stored) being sent, all together; beyond it 503 (default 128M)', parseSize)
    .option('--max-connections <n>', 'open connections at once; more are closed as they arrive (default 512)', parseCount)
    .option('--headers-timeout <seconds>', 'time to receive request headers (default 20)', parseSeconds)
    .option(
      '--idle-timeout <seconds>',
      'close a socket without traffic for this long: a client that stops sending or reading (default 120; 0: never)',
      parseSeconds,
    )
    .option('--keep-alive-timeout <seconds>', 'keep an idle keep-alive connection this long (default 5)', parseSeconds)
    .option('--request-timeout <seconds>', 'time to receive a whole request, uploads included (default 600)', parseSeconds)
    .option('--drain-timeout <seconds>', 'on SIGTERM, how long in-flight requests may still run', parseSeconds, 30)
    .option('--log-level <level>', `log level: ${LOG_LEVELS.join(', ')}`, 'info')
    .action(async (dir: string | undefined, options: ServeOptions) => {
      if ((dir === undefined) === (options.origin === undefined)) throw inputError('give a directory or --origin URL (one of them)', 'see h4mk serve --help');
      if (dir !== undefined) await requireDirectory(dir, 'give serve the directory of the containers');
      if (!LOG_LEVELS.includes(options.logLevel)) throw inputError(`unknown log level ${JSON.stringify(options.logLevel)}`);
      const logStream = new BufferedLog(process.stdout);
      process.once('exit', () => logStream.flush());
      const cors = [...options.cors, ...(options.corsOrigin === undefined ? [] : [options.corsOrigin])].filter((o) => o !== 'none').map(checkOrigin);
      const anyHost = options.allowedHost.includes('*');
      for (const host of options.allowedHost) {
        if (host !== '*' && parseHost(host) === null) throw inputError(`--allowed-host: expected a host name or name:port; got ${JSON.stringify(host)}`);
      }
      const serverOptions: ServerOptions = {
        logger: { level: options.logLevel, stream: logStream },
        corsOrigin: cors.length === 0 ? false : cors.includes('*') ? '*' : cors.length === 1 ? (cors[0] as string) : cors,
        hostCheck: !anyHost,
        allowedHosts: anyHost ? [] : options.allowedHost,
        version: program.version() ?? '0.0.0',
      };
      for (const [flag, value] of [
        ['--headers-timeout', options.headersTimeout],
        ['--keep-alive-timeout', options.keepAliveTimeout],
        ['--request-timeout', options.requestTimeout],
      ] as const) {
        if (value === 0) throw inputError(`${flag} must be at least 1 second`);
      }
      if (options.maxConnections !== undefined) serverOptions.maxConnections = options.maxConnections;
      if (options.headersTimeout !== undefined) serverOptions.headersTimeoutMs = options.headersTimeout * 1000;
      if (options.idleTimeout !== undefined) serverOptions.idleTimeoutMs = options.idleTimeout * 1000;
      if (options.keepAliveTimeout !== undefined) serverOptions.keepAliveTimeoutMs = options.keepAliveTimeout * 1000;
      if (options.requestTimeout !== undefined) serverOptions.requestTimeoutMs = options.requestTimeout * 1000;
      if (options.bodyMemory !== undefined) serverOptions.bodyMemoryBytes = options.bodyMemory;
      if (options.blockMemory !== undefined) serverOptions.blockMemoryBytes = options.blockMemory;
      if (dir !== undefined) serverOptions.dir = dir;
      if (options.origin !== undefined) {
        if (!/^https?:\/\//i.test(options.origin)) throw inputError('--origin must be an http:// or https:// URL');
        serverOptions.origin = options.origin;
      }
      const write = await secret(options.writeTokenFile, 'H4MK_WRITE_TOKEN');
      const read = await secret(options.readTokenFile, 'H4MK_READ_TOKEN');
      const share = await secret(options.secretFile, 'H4MK_SHARE_SECRET');
      if (write !== undefined) serverOptions.writeToken = write;
      if (read !== undefined) serverOptions.readToken = read;
      if (share !== undefined) serverOptions.shareSecret = share;
      if (options.publicReads === true) serverOptions.publicReads = true;
      if (options.maxUpload !== undefined) serverOptions.maxUploadBytes = options.maxUpload;
      if (options.maxBody !== undefined) serverOptions.maxInlineBytes = options.maxBody;
      if (options.cacheMaxAge !== undefined) serverOptions.cacheMaxAge = options.cacheMaxAge;
      if (options.blockCache !== undefined) serverOptions.blockCacheBytes = options.blockCache;

      // Loaded only by this verb: the HTTP server makes every other verb start slower.
      const { build, drain } = await import('../../server/index.js');
      let app: Awaited<ReturnType<typeof build>>;
      try {
        app = await build(serverOptions);
      } catch (error) {
        if (isSystemError(error)) throw aboutPath(dir ?? options.origin ?? '', error);
        if (error instanceof TypeError || error instanceof RangeError || (error instanceof Error && 'code' in error))
          throw inputError(`${dir ?? options.origin}: ${error.message}`);
        throw error;
      }
      let address: string;
      try {
        address = await app.listen({ host: options.host, port: options.port });
      } catch (error) {
        await app.close();
        throw inputError(`cannot listen on ${options.host}:${options.port}: ${error instanceof Error ? error.message : String(error)}`);
      }
      out.stderr.write(`h4mk: listening on ${address}\n`);
      app.log.info({ url: address, dir: dir ?? null, origin: options.origin === undefined ? null : new URL(options.origin).origin }, 'listening');

      const signal = await new Promise<NodeJS.Signals>((resolve) => {
        process.once('SIGTERM', () => resolve('SIGTERM'));
        process.once('SIGINT', () => resolve('SIGINT'));
      });
      app.log.info({ signal }, 'draining');
      try {
        await drain(app, options.drainTimeout * 1000);
      } catch (error) {
        // Whatever is still running is cut off: the process must end.
        app.server.closeAllConnections();
        throw failure(`stopped with requests in flight: ${error instanceof Error ? error.message : String(error)}`, 'E_DRAIN');
      } finally {
        logStream.flush();
      }
      app.log.info('stopped');
      logStream.flush();
    });
}
