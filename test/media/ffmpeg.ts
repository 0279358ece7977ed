/**
 * ffmpeg / ffprobe for the media tests. CI installs Debian's ffmpeg
 * (.ci/run), so the comparisons are not optional there: without ffmpeg
 * `requireFfmpeg()` fails the test with a clear message, unless
 * H4MK_NO_FFMPEG=1 says to skip them on purpose.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';

export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
export const FIXTURE_FILES = ['h264-aac.mp4', 'vp9-opus.webm', 'multi.mkv', 'vfr.mp4', 'long-gop.mkv', 'text.mp4'] as const;

const available = spawnSync('ffmpeg', ['-version']).status === 0 && spawnSync('ffprobe', ['-version']).status === 0;

/** True when the ffmpeg comparisons are skipped on purpose (H4MK_NO_FFMPEG=1). */
export const SKIP_FFMPEG = process.env.H4MK_NO_FFMPEG === '1';

/** Throws unless ffmpeg and ffprobe are on PATH (call only when !SKIP_FFMPEG). */
export function requireFfmpeg(): void {
  if (!available) {
    throw new Error('ffmpeg and ffprobe are needed for the media comparisons (apt-get install -y ffmpeg); set H4MK_NO_FFMPEG=1 to skip them deliberately');
  }
}

function run(command: string, args: string[]): string {
  const r = spawnSync(command, args, { maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${r.stderr.toString().trim().split('\n').slice(-3).join(' | ')}`);
  return r.stdout.toString();
}

/**
 * `ffmpeg -i FILE -map 0 [-c copy] -f framemd5 -`: every line but the
 * #software one. Decoded mode copies subtitle streams (they have no decoder output).
 */
export function framemd5(file: string, mode: 'copy' | 'decode'): string[] {
  const codec = mode === 'copy' ? ['-c', 'copy'] : ['-c:s', 'copy'];
  return run('ffmpeg', ['-v', 'error', '-nostdin', '-i', file, '-map', '0', ...codec, '-f', 'framemd5', '-'])
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#software'));
}

/** Packets of stream `index` per `-c copy -f framemd5`: size and md5, in order. */
export function packetHashes(file: string): Map<number, { size: number; md5: string }[]> {
  const out = new Map<number, { size: number; md5: string }[]>();
  for (const line of framemd5(file, 'copy')) {
    if (line.startsWith('#')) continue;
    const c = line.split(',').map((s) => s.trim());
    const stream = Number(c[0]);
    if (!out.has(stream)) out.set(stream, []);
    out.get(stream)?.push({ size: Number(c[4]), md5: c[5] as string });
  }
  return out;
}

/** ffprobe's packets of every stream: pts, dts (null for N/A), key flag, in file order per stream. */
export function probePackets(file: string): Map<number, { pts: number | null; dts: number | null; key: boolean }[]> {
  const out = new Map<number, { pts: number | null; dts: number | null; key: boolean }[]>();
  const text = run('ffprobe', ['-v', 'error', '-show_entries', 'packet=stream_index,pts,dts,flags', '-of', 'csv=p=0', file]);
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const [stream, pts, dts, flags] = line.split(',');
    const n = Number(stream);
    if (!out.has(n)) out.set(n, []);
    const num = (v: string | undefined) => (v === undefined || v === 'N/A' || v === '' ? null : Number(v));
    out.get(n)?.push({ pts: num(pts), dts: num(dts), key: (flags ?? '').includes('K') });
  }
  return out;
}

/** Decodes every stream; returns ffmpeg's error output (empty when the file plays cleanly). */
export function decodeErrors(file: string): string {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-nostdin', '-xerror', '-i', file, '-map', '0', '-c:s', 'copy', '-f', 'null', '-']);
  return r.status === 0 ? r.stderr.toString() : `exit ${r.status}: ${r.stderr.toString()}`;
}

/** Stream facts: index, codec, start time, packet count. */
export function probeStreams(file: string): { index: number; codec: string; start: number; packets: number }[] {
  const text = run('ffprobe', ['-v', 'error', '-count_packets', '-show_entries', 'stream=index,codec_name,start_time,nb_read_packets', '-of', 'json', file]);
  const json = JSON.parse(text) as { streams: { index: number; codec_name: string; start_time: string; nb_read_packets: string }[] };
  return json.streams.map((s) => ({ index: s.index, codec: s.codec_name, start: Number(s.start_time), packets: Number(s.nb_read_packets) }));
}

export function md5(bytes: Uint8Array): string {
  return createHash('md5').update(bytes).digest('hex');
}
