/**
 * Delivery: HLS and DASH from a container, over CMAF (fMP4) segments remuxed
 * from its blocks without re-encoding. Portable: runs wherever the reader
 * runs (Node, browsers).
 */
export { box, BoxWriter, findBox, fullBox } from './cmaf/bmff.js';
export { initSegment, type InitSpec } from './cmaf/init-segment.js';
export { type CmafSample, mediaSegment } from './cmaf/media-segment.js';
export { sampleDescription, type SampleEntrySpec } from './cmaf/sample-entry.js';
export { dashManifest } from './dash.js';
export { iframePlaylist, masterPlaylist, mediaPlaylist, type PlaylistOptions, trackDir, versionDir } from './hls.js';
export { completeSegments, type Cut, type DeliveryPlan, deliveryPlan, segmentBounds, type TrackTimeline, timelineOf } from './plan.js';
export {
  buildInitSegment,
  buildKeyframeSegment,
  buildMediaSegment,
  buildSubtitleFile,
  buildSubtitleSegment,
  DeliveryError,
  deliverable,
  segmentBlocks,
} from './segments.js';
export { type Carriage, type DeliveryTrack, deliveryTrack } from './tracks.js';
export { cueText, webvttSegment } from './webvtt.js';
