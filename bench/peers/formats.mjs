/**
 * Each format of the peer comparison behind one small interface, every peer
 * driven through its public API the way its documentation shows:
 *
 *   writers: `PACKERS[name](workload, path)` → { ms, cpuMs, bytes, payloadBytes, blocks }
 *     timed from create to a durable file (data synced, closed, renamed into
 *     place), like the core benchmark's plain copy and FileSink;
 *   readers: `OPENERS[format](path)` → { seek(trackId, us, { payload }), close() }.
 *
 * Options (also listed in the report's notes):
 *   h4mk        H4mkWriter + FileSink, tail layout, default segment policy;
 *               compression none | zstd (level 3, zstd-napi); encryption
 *               { secret } (AES-256-GCM per block, one key per track).
 *               Reader: FileSource + H4mkReader.open (defaults: 256 cached
 *               segment tables, SHA-256 of each block read checked).
 *   mcap        @mcap/core McapWriter over @mcap/nodejs FileHandleWritable,
 *               defaults (chunked, chunkSize 1 MiB, message + chunk indexes,
 *               statistics, summary offsets, CRCs); compressChunk: none, or
 *               zstd level 3 with zstd-napi. One schemaless channel per track
 *               (messageEncoding = codec string), logTime = dts, publishTime
 *               = pts. Reader: McapIndexedReader.Initialize over
 *               FileHandleReadable (defaults: CRCs validated, no message-index
 *               cache), readMessages({ topics, startTime }) → first message.
 *   mp4         mediabunny Output + Mp4OutputFormat({ fastStart: false }) +
 *               FilePathTarget (default: chunked writes), one
 *               EncodedVideoPacketSource / EncodedAudioPacketSource per track,
 *               decoder config on the first packet, packets in decode order.
 *               Reader: Input(FilePathSource, [MP4]) + EncodedPacketSink
 *               .getKeyPacket(t) (metadataOnly for index-only seeks).
 */
import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { McapIndexedReader, McapWriter } from '@mcap/core';
import { FileHandleReadable, FileHandleWritable } from '@mcap/nodejs';
import {
  ALL_FORMATS,
  Conversion,
  EncodedAudioPacketSource,
  EncodedPacket,
  EncodedPacketSink,
  EncodedVideoPacketSource,
  FilePathSource,
  FilePathTarget,
  Input,
  MP4,
  Mp4OutputFormat,
  Output,
} from 'mediabunny';
import { FileSink, FileSource, H4mkReader, H4mkWriter } from '../../dist/node.js';
import { packPlain } from '../lib/pack.mjs';
import { blockInputAt } from '../lib/workload.mjs';

const zstd = createRequire(import.meta.url)('zstd-napi');
export const ZSTD_LEVEL = 3; // h4mk's zstd level (src/compress/node-codecs.ts)
export const MCAP_CHUNK_SIZE = 1024 * 1024; // McapWriter's default chunkSize

/** A fixed 32-byte secret: the encrypted runs are reproducible. */
export const BENCH_SECRET = Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff);

function cpuMs(start) {
  const u = process.cpuUsage(start);
  return (u.user + u.system) / 1000;
}

function temporaryPath(path) {
  return join(dirname(path), `.${basename(path)}.partial-${randomBytes(6).toString('hex')}.tmp`);
}

/*
 * Writers: `createWriter(format, path, tracks, options)` → { write(block),
 * finish() → file bytes, abort() }, where `block` is a BlockInput of
 * bench/lib/workload.mjs (track number, pts/dts/duration in the track's
 * timescale, keyframe, kind, payload). The pack runs feed them materialised
 * columns; the memory children feed them a streamed workload.
 */

/* ------------------------------------------------------------------ h4mk */

async function h4mkWriter(path, tracks, options = {}) {
  const writer = await H4mkWriter.create(await FileSink.create(path), { layout: 'tail', meta: { generator: 'bench/peers' }, ...options });
  for (const t of tracks) writer.addTrack({ ...t.h4mk });
  return {
    write: (block) => writer.writeBlock(block),
    finish: async () => (await writer.finish()).bytes,
    abort: () => writer.abort(),
  };
}

async function openH4mk(path, options = {}) {
  const source = await FileSource.open(path);
  const reader = await H4mkReader.open(source, options);
  return {
    reader,
    blocks: reader.blockCount,
    /** The keyframe at or before `us` (index only), and with `payload` its block read and verified. */
    async seek(track, us, { payload = true } = {}) {
      const hit = await reader.seek(track, us);
      if (hit === null) return null;
      if (!payload) return hit.ptsUs;
      const block = await reader.readBlock(hit.coreIndex);
      return block.payload.length;
    },
    close: () => reader.close(),
  };
}

/* ------------------------------------------------------------------ mcap */

/** Nanoseconds of `ticks` at `timescale`, as MCAP's u64 log times. */
const toNs = (ticks, timescale) => BigInt(Math.round((ticks * 1e9) / timescale));

async function mcapWriter(path, tracks, { compression = 'none', chunkSize = MCAP_CHUNK_SIZE } = {}) {
  const temporary = temporaryPath(path);
  const handle = await open(temporary, 'wx', 0o644);
  const writer = new McapWriter({
    writable: new FileHandleWritable(handle),
    chunkSize,
    compressChunk:
      compression === 'zstd' ? (data) => ({ compression: 'zstd', compressedData: zstd.compress(data, { compressionLevel: ZSTD_LEVEL }) }) : undefined,
  });
  await writer.start({ profile: '', library: 'h4mk bench/peers' });
  const channels = [];
  const scales = tracks.map((t) => t.h4mk.timescale);
  for (const t of tracks) {
    const metadata = new Map([
      ['timescale', String(t.h4mk.timescale)],
      ['kind', t.h4mk.kind],
    ]);
    if (t.h4mk.config) metadata.set('config_hex', Buffer.from(t.h4mk.config).toString('hex'));
    channels.push(await writer.registerChannel({ schemaId: 0, topic: t.h4mk.id, messageEncoding: t.h4mk.codec, metadata }));
  }
  let sequence = 0;
  return {
    write: (block) =>
      writer.addMessage({
        channelId: channels[block.track],
        sequence: sequence++,
        logTime: toNs(block.dts, scales[block.track]),
        publishTime: toNs(block.pts, scales[block.track]),
        data: block.payload,
      }),
    async finish() {
      await writer.end();
      await handle.datasync();
      const { size } = await handle.stat();
      await handle.close();
      await rename(temporary, path);
      return size;
    },
    async abort() {
      await handle.close();
      await unlink(temporary);
    },
  };
}

export const MCAP_DECOMPRESS = { zstd: (buffer) => zstd.decompress(buffer) };

async function openMcap(path, { messageIndexCacheSizeBytes } = {}) {
  const handle = await open(path, 'r');
  const reader = await McapIndexedReader.Initialize({
    readable: new FileHandleReadable(handle),
    decompressHandlers: MCAP_DECOMPRESS,
    ...(messageIndexCacheSizeBytes ? { messageIndexCacheSizeBytes } : {}),
  });
  return {
    reader,
    blocks: Number(reader.statistics?.messageCount ?? 0n),
    /** First message of `track` with logTime ≥ `us` (MCAP has no keyframe notion; a message always comes with its data). */
    async seek(track, us) {
      for await (const message of reader.readMessages({ topics: [track], startTime: BigInt(Math.round(us)) * 1000n })) return message.data.length;
      return null;
    },
    close: () => handle.close(),
  };
}

/* ------------------------------------------------------------------- mp4 */

/**
 * `fastStart`: false (moov at the end, the default) or 'reserve' (moov first,
 * in space reserved from `packetCounts[track]`, media streamed to the file) —
 * bench/remote.mjs writes both layouts.
 */
async function mp4Writer(path, tracks, { fastStart = false, packetCounts = null } = {}) {
  const temporary = temporaryPath(path);
  const output = new Output({ format: new Mp4OutputFormat({ fastStart }), target: new FilePathTarget(temporary) });
  const sources = tracks.map((t, i) => {
    if (t.mp4 === null) return null;
    const reserve = packetCounts ? { maximumPacketCount: packetCounts[i] } : {};
    if (t.mp4.type === 'video') {
      const source = new EncodedVideoPacketSource(t.mp4.codec);
      output.addVideoTrack(source, { frameRate: t.mp4.frameRate, ...reserve });
      return { source, meta: { decoderConfig: t.mp4.decoderConfig }, timescale: t.h4mk.timescale };
    }
    const source = new EncodedAudioPacketSource(t.mp4.codec);
    output.addAudioTrack(source, reserve);
    return { source, meta: { decoderConfig: t.mp4.decoderConfig }, timescale: t.h4mk.timescale };
  });
  await output.start();
  let sequence = 0;
  return {
    carries: (track) => sources[track] !== null,
    async write(block) {
      const s = sources[block.track];
      const packet = new EncodedPacket(block.payload, block.keyframe ? 'key' : 'delta', block.pts / s.timescale, block.duration / s.timescale, sequence++);
      if (s.meta === null) return s.source.add(packet);
      const meta = s.meta;
      s.meta = null;
      return s.source.add(packet, meta);
    },
    async finish() {
      await output.finalize();
      // FilePathTarget closes its handle; fsync through a new one (same inode) for a durable file.
      const handle = await open(temporary, 'r+');
      await handle.datasync();
      const { size } = await handle.stat();
      await handle.close();
      await rename(temporary, path);
      return size;
    },
    async abort() {
      await output.cancel();
      await unlink(temporary).catch(() => {});
    },
  };
}

async function openMp4(path) {
  const input = new Input({ source: new FilePathSource(path), formats: [MP4] });
  const tracks = await input.getTracks();
  const byId = { video_main: tracks.find((t) => t.type === 'video'), audio_main: tracks.find((t) => t.type === 'audio') };
  const sinks = new Map();
  return {
    input,
    /** Last key packet with timestamp ≤ `us` (audio: every packet is a key packet); `payload: false` = metadataOnly. */
    async seek(track, us, { payload = true } = {}) {
      let sink = sinks.get(track);
      if (sink === undefined) {
        sink = new EncodedPacketSink(byId[track]);
        sinks.set(track, sink);
      }
      const packet = await sink.getKeyPacket(us / 1e6, payload ? undefined : { metadataOnly: true });
      if (packet === null) return null;
      return payload ? packet.data.length : packet.microsecondTimestamp;
    },
    close: () => input.dispose(),
  };
}

export const WRITERS = {
  h4mk: h4mkWriter,
  mcap: mcapWriter,
  mp4: mp4Writer,
};

export const OPENERS = {
  h4mk: openH4mk,
  mcap: openMcap,
  mp4: openMp4,
};

/** Writes a materialised workload with one format, timed from create to a durable, renamed file. */
export async function pack(format, workload, path, options) {
  const { cols } = workload;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const writer = await WRITERS[format](path, workload.tracks, options);
  const carries = writer.carries ?? (() => true);
  let payloadBytes = 0;
  let blocks = 0;
  try {
    for (let i = 0; i < cols.count; i++) {
      if (!carries(cols.track[i])) continue;
      const block = blockInputAt(cols, i);
      await writer.write(block);
      payloadBytes += block.payload.length;
      blocks++;
    }
  } catch (error) {
    await writer.abort();
    throw error;
  }
  const bytes = await writer.finish();
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, cpuMs: cpuMs(cpu0), bytes, payloadBytes, blocks };
}

/* -------------------------------------------------------------- registry */

/* ---------------------------------------------- import from real MP4 */

/** MP4 → h4mk through the library's importer (`h4mk import`), FileSink: a durable file. */
export async function importH4mk(from, to) {
  const lib = await import('../../dist/node.js');
  if (typeof lib.importMedia !== 'function') throw new Error('this build of h4mk has no importMedia');
  const t0 = process.hrtime.bigint();
  const summary = await lib.importMedia(from, await FileSink.create(to), { compression: 'none' });
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, blocks: summary.blocks, bytes: summary.bytes };
}

/** MP4 → MP4 with mediabunny's Conversion (no transcoding: packets copied), FilePathTarget, then fsync. */
export async function remuxMp4(from, to) {
  const t0 = process.hrtime.bigint();
  const input = new Input({ source: new FilePathSource(from), formats: ALL_FORMATS });
  try {
    const output = new Output({ format: new Mp4OutputFormat({ fastStart: false }), target: new FilePathTarget(to) });
    const conversion = await Conversion.init({ input, output });
    if (!conversion.isValid) throw new Error(`mediabunny cannot remux ${from}: ${JSON.stringify(conversion.discardedTracks.map((d) => d.reason))}`);
    await conversion.execute();
  } finally {
    input.dispose();
  }
  const handle = await open(to, 'r+');
  await handle.datasync();
  await handle.close();
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6 };
}

/** Pack variants, in the order of the report. */
export const PACKERS = {
  plain: {
    label: 'plain copy (1 MiB buffer)',
    format: null,
    run: async (w, path) => ({ ...(await packPlain(w.cols, path)), payloadBytes: w.cols.payloadBytes, blocks: w.cols.count }),
  },
  'h4mk-none': { label: 'h4mk, compression none', format: 'h4mk', run: (w, path) => pack('h4mk', w, path, { compression: 'none' }) },
  'h4mk-zstd': { label: 'h4mk, zstd (level 3)', format: 'h4mk', run: (w, path) => pack('h4mk', w, path, { compression: 'zstd' }) },
  'h4mk-enc': {
    label: 'h4mk, encrypted (AES-256-GCM), none',
    format: 'h4mk',
    run: (w, path) => pack('h4mk', w, path, { compression: 'none', encryption: { secret: BENCH_SECRET } }),
  },
  'mcap-none': { label: 'mcap, 1 MiB chunks, uncompressed', format: 'mcap', run: (w, path) => pack('mcap', w, path, { compression: 'none' }) },
  'mcap-zstd': { label: 'mcap, 1 MiB chunks, zstd (level 3)', format: 'mcap', run: (w, path) => pack('mcap', w, path, { compression: 'zstd' }) },
  mp4: { label: 'mp4 (mediabunny, fastStart false)', format: 'mp4', run: (w, path) => pack('mp4', w, path) },
};
