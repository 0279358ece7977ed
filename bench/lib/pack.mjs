/**
 * Pack runs: the H4MK writer (FileSink) and the plain-copy baseline over the
 * same materialised workload, timed from create to a durable, renamed file.
 */
import { randomBytes } from 'node:crypto';
import { open, rename } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { FileSink, H4mkWriter } from '../../dist/node.js';
import { addTracks, blockInputAt, payloadAt } from './workload.mjs';

const BUFFER_LENGTH = 1 << 20; // the same as FileSink's BufferedFile

function cpuMs(start) {
  const u = process.cpuUsage(start);
  return (u.user + u.system) / 1000;
}

/** Writes `cols` as an H4MK container at `path`. */
export async function packH4mk(cols, path, { compression = 'none', layout = 'tail', segment } = {}) {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const sink = await FileSink.create(path);
  const writer = await H4mkWriter.create(sink, { compression, layout, meta: { title: 'bench', generator: 'bench/run.mjs' }, ...(segment ? { segment } : {}) });
  addTracks(writer);
  try {
    for (let i = 0; i < cols.count; i++) await writer.writeBlock(blockInputAt(cols, i));
  } catch (error) {
    await writer.abort();
    throw error;
  }
  const summary = await writer.finish();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return { ms, cpuMs: cpuMs(cpu0), summary };
}

/**
 * The baseline: the same payload bytes, in the same order, through a 1 MiB
 * buffer into a temporary file, then datasync, close and rename — what
 * FileSink does, minus the container.
 */
export async function packPlain(cols, path) {
  function* payloads() {
    for (let i = 0; i < cols.count; i++) yield payloadAt(cols, i);
  }
  return copyPayloads(payloads(), path);
}

/** {@link packPlain} over any iterable of payloads (Uint8Array). */
export async function copyPayloads(payloads, path) {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const temporary = join(dirname(path), `.${basename(path)}.partial-${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temporary, 'wx', 0o644);
  const buffer = new Uint8Array(BUFFER_LENGTH);
  let used = 0;
  let position = 0;
  const writeFully = async (bytes) => {
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position);
      done += bytesWritten;
      position += bytesWritten;
    }
  };
  for (const p of payloads) {
    if (used + p.length > BUFFER_LENGTH) {
      await writeFully(buffer.subarray(0, used));
      used = 0;
    }
    if (p.length >= BUFFER_LENGTH) await writeFully(p);
    else {
      buffer.set(p, used);
      used += p.length;
    }
  }
  if (used > 0) await writeFully(buffer.subarray(0, used));
  await handle.datasync();
  await handle.close();
  await rename(temporary, path);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return { ms, cpuMs: cpuMs(cpu0), bytes: position };
}
