/** What `h4mk pack` (and `import`, `controls`, `demo`) report about a container they wrote. */
import type { WriteSummary } from '../node.js';
import { hex } from './bytes.js';

export type PackDoc = {
  output: string;
  layout: WriteSummary['layout'];
  compression: string;
  tracks: number;
  blocks: number;
  segments: number;
  bytes: number;
  payload_bytes: number;
  stored_bytes: number;
  index_length: number;
  chain_head: string;
  seconds: number;
};

export function packView(summary: WriteSummary, output: string, compression: string, seconds: number): PackDoc {
  return {
    output,
    layout: summary.layout,
    compression,
    tracks: summary.trackCount,
    blocks: summary.blockCount,
    segments: summary.segmentCount,
    bytes: summary.bytes,
    payload_bytes: summary.payloadBytes,
    stored_bytes: summary.storedBytes,
    index_length: summary.indexLength,
    chain_head: hex(summary.chainHead),
    seconds,
  };
}
