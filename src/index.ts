/**
 * h4mk: the H4MK container — writer, reader, seek, verify, delivery.
 * docs/FORMAT.md is the normative description of the bytes.
 *
 * This is the portable entry: it imports nothing of Node and runs unchanged
 * in a browser bundler, a worker or any JavaScript runtime, on the portable
 * platform defaults until `installPlatform` is called (src/platform/). On
 * Node, `h4mk` resolves to the Node entry (src/node.ts: this plus files,
 * media import/export, the tools, and the native platform installed);
 * `h4mk/web` adds the browser platform and WebCipher (src/web.ts).
 */

export { buildH4mkTracks } from './builder.js';
export { compressionId, decompressPayload, getCodec, parseCompression, registerCodec, type CompressionCodec } from './compress/codec.js';
export {
  COMPRESSIONS,
  DEFAULT_LIMITS,
  FORMAT_VERSION,
  FRAME_KINDS,
  MAGIC,
  TRACK_KINDS,
  type Compression,
  type FrameKind,
  type Limits,
  type TrackKind,
} from './format/constants.js';
export { crc32c, crc32cPortable } from './format/crc32c.js';
export { H4mkError, isH4mkError, type H4mkErrorCode } from './format/errors.js';
export { ticksToUs, usToTicksExact, usToTicksFloor } from './format/time.js';
export { MemorySink, MemorySpool, type Sink, type Spool } from './io/sink.js';
export { MemorySource, readExactly, type RandomAccessSource, type SourceStats } from './io/source.js';
export { H4mkReader, type Block, type RangeQuery, type ReadBlockOptions, type ReaderOptions } from './reader/reader.js';
export type { BlockInfo, ByteSpan, SeekResult, TrackInfo, VerifyFailure, VerifyReport } from './reader/types.js';
export type { VerifyOptions } from './reader/verify.js';
export { DEFAULT_SEGMENT_POLICY, type BlockInput, type RawBlockInput, type SegmentPolicy, type TrackOptions, type WriterOptions } from './writer/options.js';
export { H4mkWriter, type WriteSummary } from './writer/writer.js';
export {
  HTTP_SOURCE_DEFAULTS,
  HttpSource,
  isPrefetchSource,
  type HttpConditional,
  type HttpSourceOptions,
  type HttpSourceStats,
  type PrefetchResult,
  type PrefetchSource,
} from './io/http-source.js';
export {
  decryptCoreBlock,
  encryptCoreBlock,
  initFromSharedSecret,
  type CoreBlockContext,
  type LivingCipherState,
} from './crypto/living-cipher.js';
export { makeGrant, parseGrant, type Grant, type KeyInput } from './crypto/unlock.js';
export { decodableGrantWindow, type GrantWindow, makeDecodableGrant } from './tools/grant.js';
export type { EncryptionOptions } from './writer/encryption.js';
export type { CryptoParams } from './format/crypto-params.js';
export type { Seal } from './format/seal.js';
export { coalesceSegments, type CoalesceOptions, type PlannedRange } from './reader/planner.js';
export {
  type AdaptedBlock,
  type CodecAdapter,
  MediaAdapter,
  type MediaUnit,
  OpaqueAdapter,
  type OpaqueAdapterOptions,
  type OpaqueUnit,
} from './media/adapter.js';
export {
  CONTROL_AXES,
  CONTROL_UNITS,
  type ControlAxis,
  type ControlRecord,
  ControlRecordSchema,
  ControlsAdapter,
  CONTROLS_CODEC,
  CONTROLS_SAFE_POLICY,
  CONTROLS_SCHEMA,
  EASINGS,
  findIdentityField,
  IDENTITY_WORDS,
  parseControls,
  validateControl,
} from './controls/controls.js';
export { isMediaError, MediaError, type MediaErrorCode } from './media/errors.js';
export { type GopDecision, type GopPolicy, GopScheduler, type GopStats, gopStats, type KeyframeReason, trackGopStats } from './media/gop.js';
export { openAppendOnlyHttpSource } from './io/growing-http.js';
export { DEFAULT_READ_AHEAD, ReadAheadSource } from './io/read-ahead-source.js';
export { CHECKPOINT_OVERHEAD_FACTOR, LIVE_DEFAULTS, type LiveOptions, type LiveStats } from './writer/live.js';
export { DEFAULT_LIVE_SCAN_LIMIT } from './reader/live-open.js';
export { recoverContainer, type RecoverDamage, type RecoverOptions, type RecoverReference, type RecoverReport } from './recover/recover.js';
export { optimizeContainer, type OptimizeOptions, type OptimizeSummary } from './tools/optimize.js';
export * from './delivery/index.js';
export { installPlatform, installedPlatform, type Aead, type CryptoPrimitives, type Platform } from './platform/platform.js';
export { BlobSource } from './io/blob-source.js';
export { colourOfExtra, trackColourSpace, type ColourDescription, type ColourSpace } from './media/codec/colour.js';
export { checkMediaExtra, type MediaTrackExtra, type MediaTrackExtraInit, MediaTrackExtraSchema, parseMediaExtra } from './media/track-extra.js';
export { RegionCache } from './io/http-cache.js';
export { sealMessage } from './format/seal.js';
export { fromBase64, fromHex, toBase64, toHex } from './format/bytes.js';
export { isDisposable, nalLengthSize } from './media/codec/disposable.js';
