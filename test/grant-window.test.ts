/**
 * §13.6 grants that decode: a grant for [A, B) on a video track opens the
 * epochs from the keyframe at or before A (and up to the last reference its
 * frames need), so every frame of [A, B) decrypts with the grant alone; other
 * tracks are not widened. The CLI's report is checked in crypto-cli.test.ts.
 *
 * The container: 1 s key epochs, 25 fps video (90 kHz) in 2 s GOPs (keyframes
 * at 0, 2, 4, 6, 8 s) with B-frames (decode order I P B B P B B …), and audio
 * in 20 ms blocks, every one a keyframe.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type Block, type Grant, H4mkError, H4mkReader, H4mkWriter, MemorySink, MemorySource } from '../src/node.js';
import { decodableGrantWindow, makeDecodableGrant } from '../src/tools/grant.js';
import { caught } from './helpers.js';

const SECRET = Uint8Array.from({ length: 32 }, (_, i) => i * 7 + 1);
const FRAME = 3600; // 40 ms at 90 kHz
const GOP = 50; // 2 s
let bytes: Uint8Array;

/** Display indices of one GOP in decode order: I0, then P(k+3) B(k+1) B(k+2) …, then what is left as P. */
function gopDecodeOrder(): number[] {
  const order = [0];
  let k = 0;
  for (; k + 3 < GOP; k += 3) order.push(k + 3, k + 1, k + 2);
  for (let d = k + 1; d < GOP; d++) order.push(d);
  return order;
}

beforeAll(async () => {
  const sink = new MemorySink();
  const writer = await H4mkWriter.create(sink, { encryption: { secret: SECRET, epochUs: 1_000_000 } });
  writer.addTrack({ id: 'v', kind: 'video', timescale: 90_000 });
  writer.addTrack({ id: 'a', kind: 'audio', timescale: 48_000 });
  let decodeIndex = 0;
  let audioPts = 0;
  for (let g = 0; g < 5; g++) {
    for (const d of gopDecodeOrder()) {
      const display = g * GOP + d;
      const dts = (decodeIndex - 1) * FRAME;
      await writer.writeBlock({
        track: 'v',
        pts: display * FRAME,
        dts,
        duration: FRAME,
        keyframe: d === 0,
        payload: new TextEncoder().encode(`video ${display}`),
      });
      decodeIndex++;
      // Audio up to this video block's dts (20 ms = 960 ticks at 48 kHz).
      while ((audioPts / 48_000) * 90_000 <= dts) {
        await writer.writeBlock({ track: 'a', pts: audioPts, duration: 960, keyframe: true, payload: new TextEncoder().encode(`audio ${audioPts}`) });
        audioPts += 960;
      }
    }
  }
  await writer.finish();
  bytes = sink.bytes();
});

const withKey = () => H4mkReader.open(new MemorySource(bytes), { key: { secret: SECRET } });

/** Every block of `query` read with `grant`, payloads decrypted; throws E_KEY at the first it cannot open. */
async function readWithGrant(grant: Grant, fromUs: number, toUs: number): Promise<Block[]> {
  const reader = await H4mkReader.open(new MemorySource(bytes), { key: { grant } });
  const out: Block[] = [];
  for await (const b of reader.blocks({ tracks: ['v'], fromUs, toUs, fromKeyframe: true })) out.push(b);
  return out;
}

describe('makeDecodableGrant', () => {
  it('a grant for 7–8 s opens the keyframe at 6 s, and every frame of 7–8 s decrypts with it', async () => {
    const reader = await withKey();
    const { grant, window } = await makeDecodableGrant(reader, 'v', 7_000_000, 8_000_000);
    expect(window).toEqual({ requestedFromUs: 7_000_000, requestedToUs: 8_000_000, fromUs: 6_000_000, toUs: 8_000_000, keyframeUs: 6_000_000, widened: true });
    expect(grant.keys.map((k) => k.epoch)).toEqual([6, 7]);
    expect([grant.from_us, grant.to_us]).toEqual([6_000_000, 8_000_000]);

    const blocks = await readWithGrant(grant, 7_000_000, 8_000_000);
    expect(blocks[0]).toMatchObject({ keyframe: true, ptsUs: 6_000_000 });
    const inWindow = blocks.filter((b) => b.ptsUs >= 7_000_000 && b.ptsUs < 8_000_000);
    expect(inWindow).toHaveLength(25);
    for (const b of blocks) expect(new TextDecoder().decode(b.payload)).toBe(`video ${b.pts / FRAME}`);

    // The grant made for the window as asked (no widening) cannot open that keyframe.
    const narrow = reader.grant('v', 7_000_000, 8_000_000);
    expect(narrow.keys.map((k) => k.epoch)).toEqual([7]);
    const error = await caught(() => readWithGrant(narrow, 7_000_000, 8_000_000));
    expect(error).toBeInstanceOf(H4mkError);
    expect((error as H4mkError).code).toBe('E_KEY');
  });

  it("widens the end to a later reference the window's frames need (B-frames before their P)", async () => {
    const reader = await withKey();
    // [7 s, 7.9 s): the B-frames at 7.84 and 7.88 s are decoded after the P at 7.92 s.
    const w = await decodableGrantWindow(reader, 'v', 7_000_000, 7_900_000);
    expect(w).toMatchObject({ fromUs: 6_000_000, toUs: 7_920_001, widened: true });
    const { grant } = await makeDecodableGrant(reader, 'v', 7_000_000, 7_900_000);
    const blocks = await readWithGrant(grant, 7_000_000, 7_900_000);
    expect(blocks.map((b) => b.ptsUs)).toContain(7_920_000);
  });

  it('no widening on a keyframe, on tracks whose blocks are all keyframes, or outside the track', async () => {
    const reader = await withKey();
    expect(await decodableGrantWindow(reader, 'v', 6_000_000, 8_000_000)).toMatchObject({
      fromUs: 6_000_000,
      toUs: 8_000_000,
      keyframeUs: null,
      widened: false,
    });
    expect(await decodableGrantWindow(reader, 'a', 7_010_000, 8_000_000)).toMatchObject({ fromUs: 7_010_000, toUs: 8_000_000, widened: false });
    expect(await decodableGrantWindow(reader, 'v', 60_000_000, 61_000_000)).toMatchObject({ fromUs: 60_000_000, widened: false });
    // Before the first keyframe nothing earlier decodes anything: the start stays.
    expect(await decodableGrantWindow(reader, 'v', -5_000_000, 1_000_000)).toMatchObject({ fromUs: -5_000_000, keyframeUs: null });
  });

  it('needs the container key', async () => {
    const reader = await H4mkReader.open(new MemorySource(bytes));
    expect(((await caught(() => makeDecodableGrant(reader, 'v', 7_000_000, 8_000_000))) as H4mkError).code).toBe('E_KEY');
  });
});
