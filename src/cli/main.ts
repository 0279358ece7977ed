#!/usr/bin/env node
/** The `h4mk` (alias `harmony4-video`) command-line entry point. */
import { installNodePlatform } from '../platform/node.js';
import { run } from './program.js';

// The CLI runs on Node's platform: node:crypto, hardware CRC-32C, zlib and zstd.
installNodePlatform();

// A reader that stops early (`h4mk dump FILE | head`) is not an error: stop quietly.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
});

process.exitCode = await run(process.argv);
