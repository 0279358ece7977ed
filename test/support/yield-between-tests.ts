/**
 * Lets the worker's event loop turn between tests. Many tests are
 * synchronous (spawnSync of the CLI or ffmpeg), and vitest moves from one to
 * the next on microtasks only, so a file of them can hold the loop for
 * minutes on a busy machine: the answer to the worker's progress report
 * (an RPC with a 60-second timeout) then waits behind it, and the run ends
 * with "Timeout calling onTaskUpdate" although every test passed.
 */
import { beforeEach } from 'vitest';

beforeEach(() => new Promise<void>((resolve) => setImmediate(resolve)));
