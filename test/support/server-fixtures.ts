/**
 * Fixtures for the server tests: a directory of containers covering what the
 * server must handle (tail and faststart, compressed, encrypted, sealed, a
 * large one for streaming, a garbage file, a symlink inside and one pointing
 * out), a client that speaks to a server either through `inject()` or over a
 * real socket with node:http, and a snapshot of a directory (names, sizes,
 * inodes, mtimes) to show a request changed nothing on disk.
 */
import { randomBytes } from 'node:crypto';
import { request as httpRequest, Agent } from 'node:http';
import { lstat, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { generateSigningKeys, H4mkReader, MemorySink, MemorySource, signContainer, writeSealed } from '../../src/node.js';
import { makeSample, type Sample, writeSample } from '../helpers.js';

export const WRITE_TOKEN = 'write-token-0123456789abcdef';
export const READ_TOKEN = 'read-token-0123456789abcdef';
export const SHARE_SECRET = 'share-secret-0123456789abcdef';

export type ServerFixture = {
  /** The served directory. */
  dir: string;
  /** A directory beside it (symlink targets that must stay unreachable). */
  outside: string;
  /** Container bytes by name (garbage.h4mk holds random bytes). */
  files: Map<string, Uint8Array>;
  sample: Sample;
  cleanup(): Promise<void>;
};

/** Names of the fixture files that are valid containers. */
export const CONTAINERS = ['movie.h4mk', 'fast.h4mk', 'secret.h4mk', 'sealed.h4mk', 'big.h4mk'] as const;

export async function makeServerFixture(): Promise<ServerFixture> {
  const root = await mkdtemp(join(tmpdir(), 'h4mk-server-'));
  const dir = join(root, 'containers');
  const outside = join(root, 'outside');
  await mkdir(dir);
  await mkdir(outside);
  const files = new Map<string, Uint8Array>();
  const sample = makeSample({ seed: 7, gops: 12, scale: 20 });
  files.set('movie.h4mk', await writeSample(sample, { compression: 'zstd' }));
  files.set('fast.h4mk', await writeSample(sample, { layout: 'faststart', compression: 'none' }));
  files.set('secret.h4mk', await writeSample(sample, { compression: 'deflate', encryption: { secret: new Uint8Array(randomBytes(32)) } }));
  const plain = await H4mkReader.open(new MemorySource(files.get('fast.h4mk') as Uint8Array));
  const sink = new MemorySink();
  await writeSealed(plain, sink, signContainer(plain, generateSigningKeys().privateKeyPem, 'tests@h4mk'));
  files.set('sealed.h4mk', sink.bytes());
  // Large enough that a full GET streams many chunks (client disconnect tests).
  files.set('big.h4mk', await writeSample(makeSample({ seed: 8, gops: 20, scale: 300 }), { compression: 'none' }));
  files.set('garbage.h4mk', new Uint8Array(randomBytes(5000)));
  for (const [name, bytes] of files) await writeFile(join(dir, name), bytes);
  // A valid container outside the directory, reachable only through a symlink that must be refused.
  await writeFile(join(outside, 'elsewhere.h4mk'), files.get('movie.h4mk') as Uint8Array);
  await symlink(join(outside, 'elsewhere.h4mk'), join(dir, 'escape.h4mk'));
  await symlink('movie.h4mk', join(dir, 'alias.h4mk'));
  return { dir, outside, files, sample, cleanup: () => rm(root, { recursive: true, force: true }) };
}

/** Everything about a directory that a write would change. */
export async function snapshot(dir: string): Promise<string> {
  const rows: string[] = [];
  for (const name of (await readdir(dir)).sort()) {
    const s = await lstat(join(dir, name));
    rows.push(`${name} ${s.size} ${s.ino} ${s.mtimeMs} ${s.isSymbolicLink() ? 'link' : s.isFile() ? 'file' : 'other'}`);
  }
  return rows.join('\n');
}

export type ClientRequest = { method?: string; url: string; headers?: Record<string, string>; body?: Uint8Array };
// biome-ignore lint/suspicious/noExplicitAny: tests read response documents by value
export type ClientResponse = { status: number; headers: Record<string, string>; body: Buffer; json(): any };
export type Client = (request: ClientRequest) => Promise<ClientResponse>;

function flatten(headers: Record<string, string | string[] | number | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v);
  return out;
}

function response(status: number, headers: Record<string, string>, body: Buffer): ClientResponse {
  return { status, headers, body, json: () => JSON.parse(body.toString('utf8')) };
}

/** A client going through `app.inject()`. */
export function injectClient(app: FastifyInstance): Client {
  return async (r) => {
    const res = await app.inject({
      method: (r.method ?? 'GET') as 'GET',
      url: r.url,
      headers: r.headers ?? {},
      ...(r.body === undefined ? {} : { payload: Buffer.from(r.body) }),
    });
    return response(res.statusCode, flatten(res.headers), res.rawPayload);
  };
}

/** A client over a real TCP connection to `base` (keep-alive), with node:http. */
export function socketClient(base: string): Client & { close(): void } {
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  const client = (r: ClientRequest) =>
    new Promise<ClientResponse>((resolve, reject) => {
      const url = new URL(r.url, base);
      const req = httpRequest(url, { method: r.method ?? 'GET', headers: r.headers ?? {}, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(response(res.statusCode ?? 0, flatten(res.headers), Buffer.concat(chunks))));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(r.body === undefined ? undefined : Buffer.from(r.body));
    });
  return Object.assign(client, { close: () => agent.destroy() });
}

/** Parses a multipart/byteranges body into its parts. */
export function parseMultipart(body: Buffer, contentType: string): { contentRange: string; bytes: Buffer }[] {
  const boundary = /boundary=([^;]+)/.exec(contentType)?.[1];
  if (boundary === undefined) throw new Error(`no boundary in ${contentType}`);
  const parts: { contentRange: string; bytes: Buffer }[] = [];
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  let at = body.indexOf(delimiter);
  while (at >= 0) {
    const headStart = at + delimiter.length;
    if (body.subarray(headStart, headStart + 2).toString() === '--') break;
    const headEnd = body.indexOf('\r\n\r\n', headStart);
    const head = body.subarray(headStart, headEnd).toString('latin1');
    const next = body.indexOf(delimiter, headEnd + 4);
    const contentRange = /content-range:\s*(.+)/i.exec(head)?.[1]?.trim() ?? '';
    parts.push({ contentRange, bytes: body.subarray(headEnd + 4, next) });
    at = next;
  }
  return parts;
}
