/**
 * The comparison rows of the peer benchmark (h4mk against a named baseline,
 * see bench/report.mjs), derived from the figures of bench/out/peers.json.
 * Kept apart from the measurements so that a row's definition or note can
 * change without a new run:
 *
 *   node bench/peers/rows.mjs     rewrites the rows of bench/out/peers.json
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmtBytes, fmtInt, fmtNum } from '../lib/stats.mjs';

const SEEK_TRACKS = ['video_main', 'audio_main'];

/** Rows for bench/report.mjs from a peers.json document. */
export function peerRows(out) {
  const SCALE = out.args.scale;
  const CLIP_SECONDS = out.args.clipSeconds;
  const LARGE = out.args.blocks;
  const rows = [];
  /** A comparison row: `value` of `subject` against `baselineValue` of `baseline`; ratio = value ÷ baseline value. */
  function row(section, metric, unit, better, subject, value, baseline, baselineValue, note = '', extra = {}) {
    // A ratio needs two positive figures (a growth within the noise can come out ≤ 0): such a row is left out.
    if (!(value > 0 && baselineValue > 0)) return;
    const ratio = value / baselineValue;
    rows.push({
      section,
      metric,
      unit,
      better,
      subject,
      value,
      baseline,
      baselineValue,
      ratio,
      advantage: better === 'higher' ? ratio : 1 / ratio,
      note,
      ...extra,
    });
  }
  /** CPU-time throughput ratio of two pack variants (payload bytes per CPU ms): steadier than wall time on a shared machine. */
  const cpuRatio = (a, b) => ({ cpuRatio: a.payloadBytes / a.cpuMs / (b.payloadBytes / b.cpuMs) });

  for (const [key, p] of Object.entries(out.pack)) {
    const v = p.variants;
    const section = key === 'synthetic' ? `pack, synthetic ${fmtNum(SCALE * 120, 0)} min` : `pack, demo clip ${fmtNum(CLIP_SECONDS / 60, 0)} min`;
    const zstdNote =
      key === 'clip'
        ? 'looped clip: MCAP compresses 1 MiB chunks and finds the repeated loops, h4mk compresses each block alone'
        : 'random payloads (already-compressed media) do not compress; h4mk skips compression per block when it does not pay';
    row(
      section,
      'pack throughput',
      'MB/s',
      'higher',
      'h4mk none',
      v['h4mk-none'].mbPerS,
      'plain copy (the limit)',
      v.plain.mbPerS,
      'the plain copy writes payload bytes only: no index, no SHA-256',
      cpuRatio(v['h4mk-none'], v.plain),
    );
    row(
      section,
      'pack throughput',
      'MB/s',
      'higher',
      'h4mk zstd',
      v['h4mk-zstd'].mbPerS,
      'plain copy (the limit)',
      v.plain.mbPerS,
      '',
      cpuRatio(v['h4mk-zstd'], v.plain),
    );
    row(
      section,
      'pack throughput',
      'MB/s',
      'higher',
      'h4mk encrypted',
      v['h4mk-enc'].mbPerS,
      'plain copy (the limit)',
      v.plain.mbPerS,
      'AES-256-GCM per block (nonce, tag and associated data per block) on top of the SHA-256 chain',
      cpuRatio(v['h4mk-enc'], v.plain),
    );
    row(
      section,
      'pack throughput',
      'MB/s',
      'higher',
      'h4mk none',
      v['h4mk-none'].mbPerS,
      'mcap uncompressed',
      v['mcap-none'].mbPerS,
      `h4mk (format v2) gathers a segment, indexes each block in its table and hashes the segment's data once (SHA-256); MCAP appends to a 1 MiB chunk buffer with one CRC32 per chunk${key === 'clip' ? ': with small real packets (here ~' + fmtInt(v.plain.payloadBytes / v.plain.blocks) + ' B) the per-block work dominates' : ''}`,
      cpuRatio(v['h4mk-none'], v['mcap-none']),
    );
    row(
      section,
      'pack throughput',
      'MB/s',
      'higher',
      'h4mk zstd',
      v['h4mk-zstd'].mbPerS,
      'mcap zstd',
      v['mcap-zstd'].mbPerS,
      zstdNote,
      cpuRatio(v['h4mk-zstd'], v['mcap-zstd']),
    );
    row(
      section,
      'pack throughput',
      'MB/s',
      'higher',
      'h4mk none',
      v['h4mk-none'].mbPerS,
      'mp4 (mediabunny)',
      v.mp4.mbPerS,
      key === 'synthetic' ? 'MP4 carries video + audio only (no control track)' : '',
      cpuRatio(v['h4mk-none'], v.mp4),
    );
    row(
      section,
      'container overhead',
      'B/block',
      'lower',
      'h4mk none',
      v['h4mk-none'].overheadBytesPerBlock,
      'mcap uncompressed',
      v['mcap-none'].overheadBytesPerBlock,
      'h4mk v2 keeps a 7–12-byte varint entry per block and one SHA-256 per segment (v1 kept 72 bytes per block)',
    );
    row(
      section,
      'container overhead',
      'B/block',
      'lower',
      'h4mk none',
      v['h4mk-none'].overheadBytesPerBlock,
      'mp4 (mediabunny)',
      v.mp4.overheadBytesPerBlock,
      'MP4 sample tables store a few bytes per sample and no checksum',
    );
  }

  for (const [label, x] of Object.entries(out.import ?? {})) {
    if (typeof x !== 'object' || x === null) continue;
    row(
      'import from real MP4',
      `import ${label.replace(/,.*\)$/, ')')}`,
      'ms',
      'lower',
      'h4mk importMedia',
      x.h4mkMs,
      'mediabunny remux',
      x.mp4Ms,
      `MP4 → h4mk (importMedia, FileSink) against mediabunny Conversion MP4 → MP4 (packets copied, FilePathTarget, fsync); ${fmtInt(x.blocks)} packets, ${fmtBytes(x.sourceBytes)}; median of ${x.runs}`,
    );
  }

  const oa = out.open.synthetic;
  const ol = out.open.large;
  for (const [label, o] of [
    [`movie-shaped, ${fmtNum(SCALE * 120, 0)} min`, oa],
    [`${fmtInt(LARGE)} blocks`, ol],
  ]) {
    row(
      'open + first keyframe',
      `open + first keyframe with payload (${label})`,
      'ms',
      'lower',
      'h4mk',
      o.h4mk.openFirstMs,
      'mcap indexed reader',
      o.mcap.openFirstMs,
      'MCAP: first message ≥ t (no keyframe notion); reads and CRC-checks its whole chunk',
    );
    row(
      'open + first keyframe',
      `open + first keyframe with payload (${label})`,
      'ms',
      'lower',
      'h4mk',
      o.h4mk.openFirstMs,
      'mp4 packet sink',
      o.mp4.openFirstMs,
      'mediabunny builds its sample table on the first seek',
    );
  }

  const s = out.seek;
  for (const track of SEEK_TRACKS) {
    const h = s.tracks.h4mk[track];
    const what = track === 'video_main' ? 'video keyframe' : 'audio packet';
    row(
      `seek at ${fmtInt(LARGE)} blocks`,
      `${what} with payload, median`,
      'µs',
      'lower',
      'h4mk',
      h.payload.medianNs / 1e3,
      'mcap indexed reader',
      s.tracks.mcap[track].payload.medianNs / 1e3,
      track === 'video_main' ? 'MCAP reads, CRC-checks and parses a whole 1 MiB chunk per seek' : '',
    );
    row(
      `seek at ${fmtInt(LARGE)} blocks`,
      `${what} with payload, p99`,
      'µs',
      'lower',
      'h4mk',
      h.payload.p99Ns / 1e3,
      'mcap indexed reader',
      s.tracks.mcap[track].payload.p99Ns / 1e3,
    );
    row(
      `seek at ${fmtInt(LARGE)} blocks`,
      `${what} with payload, median`,
      'µs',
      'lower',
      'h4mk',
      h.payload.medianNs / 1e3,
      'mp4 packet sink',
      s.tracks.mp4[track].payload.medianNs / 1e3,
      `h4mk (format v2): the block's whole segment (${fmtInt(s.h4mkSegments)} segments) is one async file read, its table and the SHA-256 of its data are checked; mediabunny holds every sample's offset in memory and reads through an 8 MiB cache`,
    );
    row(
      `seek at ${fmtInt(LARGE)} blocks`,
      `${what} with payload, p99`,
      'µs',
      'lower',
      'h4mk',
      h.payload.p99Ns / 1e3,
      'mp4 packet sink',
      s.tracks.mp4[track].payload.p99Ns / 1e3,
    );
    row(
      `seek at ${fmtInt(LARGE)} blocks`,
      `${what}, index only, median`,
      'µs',
      'lower',
      'h4mk',
      h.index.medianNs / 1e3,
      'mp4 packet sink',
      s.tracks.mp4[track].index.medianNs / 1e3,
      track === 'audio_main'
        ? `h4mk keeps the video keyframes in memory; an audio seek reads the segment table of its segment (${fmtInt(s.h4mkSegments)} segments, 256 cached) unless cached; MP4 keeps every sample in memory`
        : '',
    );
    row(
      `seek at ${fmtInt(LARGE)} blocks`,
      `${what}, index only, p99`,
      'µs',
      'lower',
      'h4mk',
      h.index.p99Ns / 1e3,
      'mp4 packet sink',
      s.tracks.mp4[track].index.p99Ns / 1e3,
    );
  }

  const mem = out.memory;
  const mib = (kib) => kib / 1024;
  const procNote = 'whole process: Node + the three libraries loaded (~100 MiB) + the role';
  row(
    'memory',
    `writer peak RSS, ${fmtInt(LARGE)} blocks`,
    'MiB',
    'lower',
    'h4mk',
    mib(mem.writer.h4mk.large.peakRssKiB),
    'mcap writer',
    mib(mem.writer.mcap.large.peakRssKiB),
    procNote,
  );
  row(
    'memory',
    `writer peak RSS, ${fmtInt(LARGE)} blocks`,
    'MiB',
    'lower',
    'h4mk',
    mib(mem.writer.h4mk.large.peakRssKiB),
    'mp4 muxer',
    mib(mem.writer.mp4.large.peakRssKiB),
    "a non-fragmented MP4 keeps every sample's table entry until finalize",
  );
  const w = mem.writer;
  row(
    'memory',
    `writer memory retained after GC, ${fmtInt(LARGE)} blocks`,
    'MiB',
    'lower',
    'h4mk',
    w.h4mk.large.retainedGrowth / 2 ** 20,
    'mcap writer',
    w.mcap.large.retainedGrowth / 2 ** 20,
    `heap + external just before finish. Per block (large − small): h4mk ${fmtNum(w.h4mk.retainedGrowthBytesPerBlock, 1)} B, mcap ${fmtNum(w.mcap.retainedGrowthBytesPerBlock, 1)} B (its index is per chunk; what it holds is the open 1 MiB chunk); peak-RSS growth h4mk ${fmtNum(w.h4mk.peakGrowthBytesPerBlock, 1)}, mcap ${fmtNum(w.mcap.peakGrowthBytesPerBlock, 1)} B/block`,
  );
  row(
    'memory',
    'writer memory per block (retained after GC, large − small)',
    'B/block',
    'lower',
    'h4mk',
    w.h4mk.retainedGrowthBytesPerBlock,
    'mp4 muxer',
    w.mp4.retainedGrowthBytesPerBlock,
    `peak-RSS growth: h4mk ${fmtNum(w.h4mk.peakGrowthBytesPerBlock, 1)}, mp4 ${fmtNum(w.mp4.peakGrowthBytesPerBlock, 1)} B/block`,
  );
  if (mem.reader.h4mk) {
    row(
      'memory',
      `reader peak RSS, ${fmtInt(LARGE)} blocks`,
      'MiB',
      'lower',
      'h4mk',
      mib(mem.reader.h4mk.large.peakRssKiB),
      'mcap indexed reader',
      mib(mem.reader.mcap.large.peakRssKiB),
      `${procNote}; open, then 100 video keyframes + 100 audio packets with payloads; MCAP decodes a whole 1 MiB chunk per seek`,
    );
    row(
      'memory',
      `reader peak RSS, ${fmtInt(LARGE)} blocks`,
      'MiB',
      'lower',
      'h4mk',
      mib(mem.reader.h4mk.large.peakRssKiB),
      'mp4 packet sink',
      mib(mem.reader.mp4.large.peakRssKiB),
      'mediabunny holds the full sample tables of the tracks it seeks',
    );
    row(
      'memory',
      `reader memory retained after its seeks, ${fmtInt(LARGE)} blocks`,
      'MiB',
      'lower',
      'h4mk',
      mem.reader.h4mk.large.retainedGrowth / 2 ** 20,
      'mp4 packet sink',
      mem.reader.mp4.large.retainedGrowth / 2 ** 20,
      `heap + external after a full GC, reader open; mcap ${fmtNum(mem.reader.mcap.large.retainedGrowth / 2 ** 20, 1)} MiB`,
    );
  }
  return rows;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const path = join(dirname(fileURLToPath(import.meta.url)), '..', 'out', 'peers.json');
  const doc = JSON.parse(readFileSync(path, 'utf8'));
  doc.rows = peerRows(doc);
  writeFileSync(path, `${JSON.stringify(doc, null, 2)}\n`);
  process.stdout.write(`${doc.rows.length} rows → ${path}\n`);
}
