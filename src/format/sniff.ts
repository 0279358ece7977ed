/**
 * What a file that is not an H4MK container looks like, from its first
 * bytes: so an error can say "this is an MP4 file, `h4mk import` converts it"
 * rather than only "bad magic". Signatures from each format's own spec
 * (ISO/IEC 14496-12 box header, RFC 8794 EBML header, ISO/IEC 13818-1 sync
 * byte, RFC 3533 Ogg capture pattern, …).
 */

/** A format `h4mk import` reads, or another well-known one. */
export type SniffedFormat = 'mp4' | 'matroska' | 'mpegts' | 'ogg' | 'wave' | 'flac' | 'mp3' | 'adts' | 'json' | 'gzip' | 'zstd';

/** Formats `h4mk import` converts (the rest only get named). */
export const IMPORTABLE: ReadonlySet<SniffedFormat> = new Set(['mp4', 'matroska', 'mpegts', 'ogg', 'wave', 'flac', 'mp3', 'adts']);

/** Bytes a caller should read for {@link sniffFormat}. */
export const SNIFF_BYTES = 376;

const ascii = (bytes: Uint8Array, at: number, text: string): boolean => {
  if (bytes.length < at + text.length) return false;
  for (let i = 0; i < text.length; i++) if (bytes[at + i] !== text.charCodeAt(i)) return false;
  return true;
};

/** The format `head` (a file's first bytes, ideally {@link SNIFF_BYTES}) starts like, or null. */
export function sniffFormat(head: Uint8Array): SniffedFormat | null {
  // ISO BMFF (MP4, MOV, 3GP, CMAF): a box header whose type is one of the top-level boxes.
  if (['ftyp', 'moov', 'mdat', 'styp', 'free', 'wide', 'skip', 'moof'].some((box) => ascii(head, 4, box))) return 'mp4';
  if (head.length >= 4 && head[0] === 0x1a && head[1] === 0x45 && head[2] === 0xdf && head[3] === 0xa3) return 'matroska';
  // MPEG-TS: 188-byte packets, each starting with the sync byte 0x47.
  if (head.length >= 189 && head[0] === 0x47 && head[188] === 0x47) return 'mpegts';
  if (ascii(head, 0, 'OggS')) return 'ogg';
  if (ascii(head, 0, 'RIFF') && ascii(head, 8, 'WAVE')) return 'wave';
  if (ascii(head, 0, 'fLaC')) return 'flac';
  if (ascii(head, 0, 'ID3') || (head.length >= 2 && head[0] === 0xff && ((head[1] as number) & 0xe0) === 0xe0 && ((head[1] as number) & 0x06) !== 0))
    return 'mp3';
  if (head.length >= 2 && head[0] === 0xff && ((head[1] as number) & 0xf6) === 0xf0) return 'adts';
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  const first = head.find((b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09);
  if (first === 0x7b) return 'json';
  return null;
}

const NAMES: Record<SniffedFormat, string> = {
  mp4: 'an MP4/QuickTime file',
  matroska: 'a Matroska/WebM file',
  mpegts: 'an MPEG transport stream',
  ogg: 'an Ogg file',
  wave: 'a WAVE file',
  flac: 'a FLAC file',
  mp3: 'an MP3 file',
  adts: 'an ADTS AAC stream',
  json: 'JSON (NDJSON records: `h4mk pack` makes a container of them)',
  gzip: 'a gzip file',
  zstd: 'a zstd frame',
};

/** "not an H4MK container (it looks like an MP4/QuickTime file: `h4mk import` converts it)" for a sniffed format. */
export function notH4mkMessage(format: SniffedFormat | null): string {
  if (format === null) return 'not an H4MK container (bad magic)';
  const how = IMPORTABLE.has(format) ? ': `h4mk import` converts it' : '';
  return `not an H4MK container (it looks like ${NAMES[format]}${how})`;
}
