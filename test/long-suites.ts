/**
 * The long suites: `npm run test:long` runs them (and `.ci/run` runs both
 * suites), `npm test` runs everything else. Long means minutes of wall time
 * spent in real players and browsers, trials and attacks, not less
 * important: chromium with hls.js, dash.js and the inspector; ffmpeg as an
 * HLS/DASH client; the generated hostile-argv cases; fuzzing; SIGKILL trials;
 * the server under attack; mkvmerge's files; live imports paced by ffmpeg -re.
 */
export const LONG_SUITES = [
  'test/delivery-browser.test.ts',
  'test/delivery-live-browser.test.ts',
  'test/delivery/ffmpeg-clients.test.ts',
  'test/inspector.test.ts',
  'test/inspector-player.test.ts',
  'test/inspector-scale.test.ts',
  'test/cli-hostile-argv.test.ts',
  'test/fuzz.test.ts',
  'test/recover-crash.test.ts',
  'test/server-limits.test.ts',
  'test/media/real-muxers.test.ts',
  'test/live-import.test.ts',
];
