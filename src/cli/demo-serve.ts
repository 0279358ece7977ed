/**
 * `h4mk demo --serve`: after the demo, serve its directory with `h4mk
 * serve`'s app and print the inspector's URL, until Ctrl-C.
 *
 * Next to demo.h4mk it writes an encrypted and sealed copy, so the
 * inspector shows encryption too: demo-encrypted.h4mk (AES-256-GCM, key
 * epochs of 1 s, Ed25519 seal), and in keys/ (a subdirectory, which the
 * server neither lists nor serves) its key file demo.key, a grant for the
 * video track's second half (demo-grant.json) and the seal's public key
 * (demo-seal.pub). The key and grant files are 0600; paste either into the
 * page, which uses it there and sends it nowhere.
 */
import { trackOptionsOf } from '../writer/options.js';
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FileSink, FileSource, generateSigningKeys, H4mkReader, H4mkWriter, signContainer, writeSealed, type Block, type WriteSummary } from '../node.js';
import type { Sink } from '../io/sink.js';
import { build, drain } from '../server/index.js';
import { failure, inputError } from './errors.js';
import { formatSecretKey, writeKeyFile } from './key-file.js';
import type { Output } from './output.js';

/** Key epoch length of the encrypted demo copy: grants open whole seconds. */
export const DEMO_EPOCH_US = 1_000_000;
export const DEMO_ENCRYPTED_FILE = 'demo-encrypted.h4mk';
export const DEMO_KEY_FILE = 'demo.key';
export const DEMO_GRANT_FILE = 'demo-grant.json';
export const DEMO_SEAL_PUBLIC_KEY = 'demo-seal.pub';

/**
 * Writes an encrypted copy of `reader`'s container to `sink`: the same
 * tracks, META and SAFE, every block decrypted/decompressed and written
 * again (its compression kept) under `secret` with key epochs of `epochUs`.
 * A fresh container id is drawn (§13.1: re-encryption needs one).
 */
export async function writeEncryptedCopy(reader: H4mkReader, sink: Sink, options: { secret: Uint8Array; epochUs?: number }): Promise<WriteSummary> {
  const writer = await H4mkWriter.create(sink, {
    layout: reader.layout,
    meta: reader.meta,
    safe: reader.safe,
    encryption: { secret: options.secret, epochUs: options.epochUs ?? 0 },
  });
  try {
    for (const t of reader.tracks()) {
      writer.addTrack(trackOptionsOf(t));
    }
    for await (const b of reader.blocks({})) {
      const block = b as Block;
      await writer.writeBlock({
        track: block.trackNumber,
        pts: block.pts,
        dts: block.dts,
        duration: block.duration,
        keyframe: block.keyframe,
        ...(block.frameKind === null ? {} : { kind: block.frameKind }),
        payload: block.payload,
        compression: block.compression,
      });
    }
    return await writer.finish();
  } catch (error) {
    await writer.abort();
    throw error;
  }
}

/** What {@link writeDemoCopies} wrote. */
export type DemoCopies = {
  encrypted: string;
  keyFile: string;
  grantFile: string;
  publicKey: string;
  grantTrack: string;
  grantFromUs: number;
  grantToUs: number;
};

/**
 * Writes demo-encrypted.h4mk (encrypted, then sealed) into `dir` and
 * demo.key, demo-grant.json and demo-seal.pub into `dir`/keys/, from the
 * container at `plainPath`.
 */
export async function writeDemoCopies(plainPath: string, dir: string): Promise<DemoCopies> {
  const secret = new Uint8Array(randomBytes(32));
  const encrypted = join(dir, DEMO_ENCRYPTED_FILE);
  const unsealed = join(dir, `.${DEMO_ENCRYPTED_FILE}.unsealed`);
  const plainSource = await FileSource.open(plainPath);
  try {
    await writeEncryptedCopy(await H4mkReader.open(plainSource), await FileSink.create(unsealed), { secret, epochUs: DEMO_EPOCH_US });
  } finally {
    await plainSource.close();
  }
  const keys = generateSigningKeys();
  const source = await FileSource.open(unsealed);
  let grant: unknown;
  let window: { track: string; fromUs: number; toUs: number };
  try {
    const reader = await H4mkReader.open(source, { key: { secret } });
    await writeSealed(reader, await FileSink.create(encrypted), signContainer(reader, keys.privateKeyPem, 'h4mk demo'));
    // The grant opens the video track's second half (whole key epochs).
    const video = reader.tracks().find((t) => t.kind === 'video') ?? reader.tracks()[0];
    if (video === undefined) throw failure('the demo container has no track', 'E_FAILED');
    const end = Math.max(DEMO_EPOCH_US, Math.ceil(((video.lastPtsUs ?? 0) + 1) / DEMO_EPOCH_US) * DEMO_EPOCH_US);
    const from = Math.floor(end / 2 / DEMO_EPOCH_US) * DEMO_EPOCH_US;
    window = { track: video.id, fromUs: from, toUs: end };
    grant = reader.grant(video.number, from, end);
  } finally {
    await source.close();
    await rm(unsealed, { force: true });
  }
  // Key material stays out of the served directory's listing: a subdirectory is never served.
  const keysDir = join(dir, 'keys');
  await mkdir(keysDir, { recursive: true, mode: 0o700 });
  const keyFile = join(keysDir, DEMO_KEY_FILE);
  const grantFile = join(keysDir, DEMO_GRANT_FILE);
  const publicKey = join(keysDir, DEMO_SEAL_PUBLIC_KEY);
  await writeKeyFile(keyFile, formatSecretKey(secret), { force: true, mode: 0o600 });
  await writeKeyFile(grantFile, `${JSON.stringify(grant, null, 2)}\n`, { force: true, mode: 0o600 });
  await writeFile(publicKey, keys.publicKeyPem);
  return { encrypted, keyFile, grantFile, publicKey, grantTrack: window.track, grantFromUs: window.fromUs, grantToUs: window.toUs };
}

/** Options of {@link serveDemo}. */
export type ServeDemoOptions = { dir: string; file: string; host: string; port: number };

/**
 * Serves `dir` (containers, raw files with ranges, the inspector at `/`)
 * and prints the inspector URL of `file`; resolves after SIGINT or SIGTERM
 * once the server has drained.
 */
export async function serveDemo(out: Output, options: ServeDemoOptions): Promise<void> {
  const copies = await writeDemoCopies(join(options.dir, options.file), options.dir);
  // The same safe defaults as `h4mk serve`: no CORS headers, and on loopback only loopback host names (DNS rebinding).
  const app = await build({ dir: options.dir, logger: false, corsOrigin: false, hostCheck: true, allowedHosts: [] });
  let address: string;
  try {
    address = await app.listen({ host: options.host, port: options.port });
  } catch (error) {
    await app.close();
    if (options.port !== 0 && (error as { code?: unknown }).code === 'EADDRINUSE') {
      throw inputError(`port ${options.port} is in use`, 'give another with --port, or --port 0 for any free port');
    }
    throw error;
  }
  const base = address.replace('://[::1]', '://localhost');
  const page = (name: string) => `${base}/#container=${encodeURIComponent(name)}`;
  // Printed as plain lines (also with --json, whose document was written before): the URL is what to open.
  out.stdout.write(`\ninspector: ${page(options.file)}\n`);
  out.stdout.write(
    `encrypted and sealed copy: ${page(DEMO_ENCRYPTED_FILE)}\n` +
      `  paste the key from ${copies.keyFile}, or the grant ${copies.grantFile} (${copies.grantTrack}, ${copies.grantFromUs / 1e6}–${copies.grantToUs / 1e6} s)\n` +
      `serving ${options.dir} on ${base} until Ctrl-C\n`,
  );
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  out.stderr.write(`h4mk: ${signal}: stopping\n`);
  await drain(app, 5000).catch(() => app.server.closeAllConnections());
}
