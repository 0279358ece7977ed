/**
 * The camera-controls track: schema on write and on read, identity-bearing
 * fields refused with a clear error, SAFE recording the policy, and adding a
 * track to an existing container without changing its other blocks.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addControlsTrack,
  buildH4mkTracks,
  CONTROL_AXES,
  type ControlRecord,
  ControlsAdapter,
  CONTROLS_CODEC,
  FileSink,
  FileSource,
  findIdentityField,
  H4mkReader,
  isMediaError,
  MemorySink,
  MemorySource,
  parseControls,
  readControls,
  validateControl,
} from '../../src/node.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'h4mk-controls-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const pan: ControlRecord = { control: 'pan', value: 12.5, unit: 'deg', t_us: 0, duration_us: 500_000, easing: 'ease-in-out' };

function refused(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(isMediaError(error) && error.code).toBe('E_CONTROLS');
    return (error as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('schema', () => {
  it('accepts every control with its units, defaults easing to linear', () => {
    const units: Record<string, string> = {
      pan: 'deg',
      tilt: 'rad',
      roll: 'deg',
      orbit: 'deg',
      zoom: 'x',
      dolly: 'm',
      truck: 'cm',
      pedestal: 'mm',
      focus: 'diopter',
    };
    for (const control of CONTROL_AXES) {
      expect(validateControl({ control, value: 1, unit: units[control], t_us: 10 })).toEqual({
        control,
        value: 1,
        unit: units[control],
        t_us: 10,
        easing: 'linear',
      });
    }
  });

  it('refuses unknown controls, wrong units, negative or fractional times, non-finite values and unknown fields', () => {
    expect(refused(() => validateControl({ ...pan, control: 'warp' }))).toMatch(/control/);
    expect(refused(() => validateControl({ ...pan, unit: 'm' }))).toMatch(/pan takes deg or rad, not "m"/);
    expect(refused(() => validateControl({ ...pan, t_us: -1 }))).toMatch(/t_us/);
    expect(refused(() => validateControl({ ...pan, t_us: 1.5 }))).toMatch(/t_us/);
    expect(refused(() => validateControl({ ...pan, value: Number.POSITIVE_INFINITY }))).toMatch(/value/);
    expect(refused(() => validateControl({ ...pan, speed: 3 }))).toMatch(/speed|Unrecognized/i);
    expect(refused(() => validateControl({ ...pan, easing: 'bounce' }))).toMatch(/easing/);
  });
});

describe('identity-bearing fields', () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ ...pan, face_box: [1, 2, 3, 4] }, 'face_box'],
    [{ ...pan, person: 'x' }, 'person'],
    [{ ...pan, subjectIdentity: 'x' }, 'subjectIdentity'],
    [{ ...pan, biometric: {} }, 'biometric'],
    [{ ...pan, name: 'Alice' }, 'name'],
    [{ ...pan, target: { personName: 'Bob' } }, 'target.personName'],
    [{ ...pan, tags: [{ 'face-id': 3 }] }, 'tags.0.face-id'],
  ];
  it.each(cases)('refuses %j naming the field', (record, field) => {
    expect(findIdentityField(record)).toBe(field);
    expect(refused(() => validateControl(record))).toBe(
      `control record: field "${field}" is identity-bearing and is refused: controls describe the camera, never who is in the frame`,
    );
  });

  it('does not mistake camera words for identity (image, page, stage, framing)', () => {
    expect(findIdentityField({ image: 1, page: 2, stage: 3, framing: 4, surface: 5 })).toBeNull();
  });

  it('refuses a whole document that carries one', () => {
    expect(refused(() => parseControls({ controls: [pan], operator: { name: 'x' } }, 'c.json'))).toMatch(/^c\.json: field "operator\.name"/);
    expect(refused(() => parseControls([pan, { ...pan, t_us: 5, face: 1 }], 'c.json'))).toMatch(/field "1\.face"/);
  });
});

describe('adapter and track', () => {
  it('validates on write (toBlock) and on read (fromBlock)', async () => {
    const adapter = new ControlsAdapter();
    expect(() => adapter.toBlock({ ...pan, face: true } as unknown as ControlRecord)).toThrow(/identity-bearing/);
    const block = adapter.toBlock(pan);
    expect(block).toMatchObject({ pts: 0, duration: 500_000, keyframe: true });
    const bytes = await buildH4mkTracks(
      [{ id: 'c', ...adapter.trackOptions() }],
      [
        { track: 'c', ...block },
        { track: 'c', pts: 1000, keyframe: true, payload: new TextEncoder().encode(JSON.stringify({ ...pan, t_us: 1000, name: 'x' })) },
      ],
    );
    const reader = await H4mkReader.open(new MemorySource(bytes));
    const first = await reader.readBlock(0);
    expect(adapter.fromBlock(first)).toEqual(pan);
    await expect(readControls(reader)).rejects.toThrow(/block 1: field "name" is identity-bearing/);
  });

  it('adds a controls track to an existing container: other blocks unchanged, SAFE records the policy', async () => {
    const source = await buildH4mkTracks(
      [
        { id: 'v', kind: 'video', codec: 'opaque', timescale: 90000 },
        { id: 'a', kind: 'audio', codec: 'opaque', timescale: 48000, compression: 'zstd' },
      ],
      Array.from({ length: 30 }, (_, i) =>
        i % 2 === 0
          ? { track: 'v', pts: i * 3000, keyframe: i % 10 === 0, payload: new Uint8Array(100).fill(i) }
          : { track: 'a', pts: i * 1600, keyframe: true, payload: new Uint8Array(50).fill(i) },
      ),
      { title: 't' },
    );
    const reader = await H4mkReader.open(new MemorySource(source));
    const records = parseControls([
      { control: 'zoom', value: 2, unit: 'x', t_us: 300_000 },
      { control: 'pan', value: -10, unit: 'deg', t_us: 0, easing: 'step' },
      { control: 'focus', value: 1.5, unit: 'm', t_us: 100_000 },
    ]);
    const sink = new MemorySink();
    const summary = await addControlsTrack(reader, records, sink);
    expect(summary.blockCount).toBe(33);
    const out = await H4mkReader.open(new MemorySource(sink.bytes()));
    expect(out.safe).toEqual({
      policy: 'transport_only',
      controls: {
        schema: 'h4mk.controls/1',
        content: 'camera_motion_only',
        identity_fields: 'rejected',
        statement: 'control tracks describe the camera, never who is in the frame',
      },
    });
    expect(out.meta).toEqual({ title: 't' });
    expect(out.tracks().map((t) => [t.id, t.kind, t.codec])).toEqual([
      ['v', 'video', 'opaque'],
      ['a', 'audio', 'opaque'],
      ['camera_control', 'control', CONTROLS_CODEC],
    ]);
    expect((await out.verify()).ok).toBe(true);
    const before = [];
    for await (const b of reader.blocks({})) before.push(b);
    const after = [];
    for await (const b of out.blocks({ tracks: ['v', 'a'] })) after.push(b);
    expect(after.map((b) => [b.trackId, b.pts, b.dts, b.keyframe, b.compression, Buffer.from((b as { payload: Uint8Array }).payload).toString('hex')])).toEqual(
      before.map((b) => [b.trackId, b.pts, b.dts, b.keyframe, b.compression, Buffer.from((b as { payload: Uint8Array }).payload).toString('hex')]),
    );
    const shown = await readControls(out);
    expect(shown.records.map((r) => [r.control, r.t_us, r.easing])).toEqual([
      ['pan', 0, 'step'],
      ['focus', 100_000, 'linear'],
      ['zoom', 300_000, 'linear'],
    ]);
    await expect(addControlsTrack(out, records, new MemorySink())).rejects.toThrow(/already has a track "camera_control"/);
  });

  it('writes files atomically: a refused record leaves nothing', async () => {
    const source = join(dir, 's.h4mk');
    const sink = await FileSink.create(source);
    const bytes = await buildH4mkTracks([{ id: 'v', kind: 'video' }], [{ track: 'v', pts: 0, keyframe: true, payload: new Uint8Array(4) }]);
    await sink.write(bytes);
    await sink.commit();
    const reader = await H4mkReader.open(await FileSource.open(source));
    const out = join(dir, 'o.h4mk');
    await expect(addControlsTrack(reader, [{ ...pan, person: 'x' } as unknown as ControlRecord], await FileSink.create(out))).rejects.toThrow(
      /identity-bearing/,
    );
    await expect(FileSource.open(out)).rejects.toThrow();
    await reader.close();
  });
});
