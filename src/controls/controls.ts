/**
 * The camera-controls track: one JSON record per
 * block describing a camera move — pan, tilt, roll, zoom, dolly, truck,
 * pedestal, orbit, focus — with its value, unit, time and easing.
 *
 * Every record is validated with a zod schema when it is written and when
 * it is read. Identity-bearing fields (face, person, identity, biometric,
 * name, …) are refused anywhere in a record, with a clear error: controls
 * describe the camera, never who is in the frame. A container with a
 * controls track states this in SAFE (`CONTROLS_SAFE_POLICY`).
 */
import { z } from 'zod';
import type { Block } from '../reader/reader.js';
import type { TrackOptions } from '../writer/options.js';
import type { AdaptedBlock, CodecAdapter } from '../media/adapter.js';
import { MediaError } from '../media/errors.js';

/** Codec string of a controls track. */
export const CONTROLS_CODEC = 'h4mk.controls+json';
/** Schema id recorded in TRAK extra and SAFE. */
export const CONTROLS_SCHEMA = 'h4mk.controls/1';

export const CONTROL_AXES = ['pan', 'tilt', 'roll', 'zoom', 'dolly', 'truck', 'pedestal', 'orbit', 'focus'] as const;
export type ControlAxis = (typeof CONTROL_AXES)[number];
export const EASINGS = ['linear', 'ease-in', 'ease-out', 'ease-in-out', 'step'] as const;

/** Units each control accepts. */
export const CONTROL_UNITS: Readonly<Record<ControlAxis, readonly string[]>> = {
  pan: ['deg', 'rad'],
  tilt: ['deg', 'rad'],
  roll: ['deg', 'rad'],
  orbit: ['deg', 'rad'],
  zoom: ['x', 'mm'],
  dolly: ['m', 'cm', 'mm'],
  truck: ['m', 'cm', 'mm'],
  pedestal: ['m', 'cm', 'mm'],
  focus: ['m', 'diopter'],
};

/**
 * Name parts that make a field identity-bearing. A key is split into words
 * (snake_case, camelCase, kebab-case, digits); any word in this set refuses
 * the record.
 */
export const IDENTITY_WORDS: ReadonlySet<string> = new Set([
  'face',
  'faces',
  'facial',
  'person',
  'persons',
  'people',
  'identity',
  'identities',
  'identify',
  'identified',
  'biometric',
  'biometrics',
  'name',
  'names',
  'fingerprint',
  'iris',
  'retina',
  'voiceprint',
  'gait',
  'gender',
  'ethnicity',
  'race',
  'age',
  'subject',
  'individual',
  'passport',
  'ssn',
]);

/** The SAFE entry of a container with a controls track. */
export const CONTROLS_SAFE_POLICY = Object.freeze({
  schema: CONTROLS_SCHEMA,
  content: 'camera_motion_only',
  identity_fields: 'rejected',
  statement: 'control tracks describe the camera, never who is in the frame',
});

/** One camera control. */
export const ControlRecordSchema = z
  .strictObject({
    control: z.enum(CONTROL_AXES),
    value: z.number().refine(Number.isFinite, 'must be a finite number'),
    unit: z.string(),
    /** Time of the control, µs. */
    t_us: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    /** How long the move takes, µs (0 or absent: instantaneous). */
    duration_us: z.number().int().min(0).max(0xffff_ffff).optional(),
    easing: z.enum(EASINGS).default('linear'),
  })
  .superRefine((r, ctx) => {
    const units = CONTROL_UNITS[r.control];
    if (!units.includes(r.unit))
      ctx.addIssue({ code: 'custom', path: ['unit'], message: `${r.control} takes ${units.join(' or ')}, not ${JSON.stringify(r.unit)}` });
  });

/** A validated control record. */
export type ControlRecord = z.infer<typeof ControlRecordSchema>;

/** The first identity-bearing key path in `value`, or null. */
export function findIdentityField(value: unknown, path: string[] = []): string | null {
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) {
      const hit = findIdentityField(v, [...path, String(i)]);
      if (hit !== null) return hit;
    }
    return null;
  }
  if (value === null || typeof value !== 'object') return null;
  for (const [key, v] of Object.entries(value)) {
    const words = key
      .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
      .toLowerCase()
      .split(/[^a-z]+/)
      .filter((w) => w !== '');
    if (words.some((w) => IDENTITY_WORDS.has(w))) return [...path, key].join('.');
    const hit = findIdentityField(v, [...path, key]);
    if (hit !== null) return hit;
  }
  return null;
}

/**
 * Validates one record: identity-bearing fields first (their own error),
 * then the schema. `where` names the record in messages.
 */
export function validateControl(value: unknown, where = 'control record'): ControlRecord {
  const identity = findIdentityField(value);
  if (identity !== null) {
    throw new MediaError(
      'E_CONTROLS',
      `${where}: field "${identity}" is identity-bearing and is refused: controls describe the camera, never who is in the frame`,
    );
  }
  const parsed = ControlRecordSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = issue === undefined || issue.path.length === 0 ? '' : ` (${issue.path.join('.')})`;
    throw new MediaError('E_CONTROLS', `${where}${at}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

/** Parses a controls document: an array of records, or `{"controls": [...]}`; sorted by time. */
export function parseControls(document: unknown, name = 'controls'): ControlRecord[] {
  const list = Array.isArray(document)
    ? document
    : document !== null && typeof document === 'object' && Array.isArray((document as { controls?: unknown }).controls)
      ? (document as { controls: unknown[] }).controls
      : null;
  if (list === null) throw new MediaError('E_CONTROLS', `${name}: expected an array of control records or {"controls": [...]}`);
  const identity = findIdentityField(document);
  if (identity !== null)
    throw new MediaError(
      'E_CONTROLS',
      `${name}: field "${identity}" is identity-bearing and is refused: controls describe the camera, never who is in the frame`,
    );
  return list.map((r, i) => validateControl(r, `${name}[${i}]`)).sort((a, b) => a.t_us - b.t_us);
}

/** The adapter of a controls track: a record ↔ one JSON block at timescale 1,000,000. */
export class ControlsAdapter implements CodecAdapter<ControlRecord> {
  readonly codec = CONTROLS_CODEC;

  trackOptions(): Omit<TrackOptions, 'id'> {
    return {
      kind: 'control',
      codec: CONTROLS_CODEC,
      timescale: 1_000_000,
      name: 'Camera controls',
      extra: { schema: CONTROLS_SCHEMA, controls: [...CONTROL_AXES], identity_fields: 'rejected' },
    };
  }

  toBlock(record: ControlRecord): AdaptedBlock {
    const r = validateControl(record);
    return { pts: r.t_us, dts: r.t_us, duration: r.duration_us ?? 0, keyframe: true, payload: new TextEncoder().encode(JSON.stringify(r)) };
  }

  fromBlock(block: Block): ControlRecord {
    let value: unknown;
    try {
      value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(block.payload));
    } catch {
      throw new MediaError('E_CONTROLS', `block ${block.coreIndex}: not a JSON control record`);
    }
    const r = validateControl(value, `block ${block.coreIndex}`);
    if (r.t_us !== block.pts) throw new MediaError('E_CONTROLS', `block ${block.coreIndex}: t_us ${r.t_us} differs from the block's pts ${block.pts}`);
    return r;
  }
}
