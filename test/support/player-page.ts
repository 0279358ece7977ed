/**
 * A test page for streaming players (hls.js, dash.js) in chromium: one
 * <video muted>, a canvas, and `window.h4` with
 * - `start(kind, url)`: attaches hls.js or dash.js to the video and plays;
 * - `state()`: the video's clock, buffered ranges, player errors, and the
 *   longest stall seen while playing (seeks and pauses excepted);
 * - `grab(t)`: pauses, seeks to `t`, and returns the presented frame's
 *   media time (requestVideoFrameCallback) and its RGBA pixels (base64).
 * The players' scripts are served by the test itself (no network), so the
 * page loads them from `/__test/hls.min.js` and `/__test/dash.all.min.js`.
 */

/** What `window.h4.state()` returns. */
export type PlayerState = {
  currentTime: number;
  duration: number;
  paused: boolean;
  seeking: boolean;
  ended: boolean;
  readyState: number;
  buffered: [number, number][];
  /** currentTime when the first 'playing' event came; null before. */
  firstPlaying: number | null;
  /** Longest time (ms) currentTime stood still while the video was playing (not paused, not seeking, not just started). */
  maxStallMs: number;
  /** Stand-stills over 250 ms: where, how long. */
  stalls: { at: number; ms: number }[];
  /** 'waiting' events outside start-up, seeks and pauses: where. */
  waits: number[];
  /** Every player or media error; `fatal` set on those that stop playback. */
  errors: { fatal: boolean; source: string; text: string }[];
  fatal: string | null;
  audioDecodedBytes: number;
  videoDecodedBytes: number;
  droppedFrames: number;
  totalFrames: number;
};

/** What `window.h4.grab(t)` returns. */
export type Grab = {
  /** requestVideoFrameCallback metadata.mediaTime of the presented frame (null when the callback did not come). */
  mediaTime: number | null;
  currentTime: number;
  width: number;
  height: number;
  /** RGBA, base64. */
  rgba: string;
};

/** The page's script (plain ES2020, runs in chromium). */
const SCRIPT = `
(() => {
  const v = document.getElementById('v');
  const s = {
    firstPlaying: null, maxStallMs: 0, stalls: [], waits: [], errors: [], fatal: null,
    exempt: true, lastT: -1, lastAdvance: performance.now(), stallStart: null,
  };
  const fail = (source, text) => {
    s.errors.push({ fatal: true, source, text });
    if (s.fatal === null) s.fatal = source + ': ' + text;
  };
  const note = (source, text) => s.errors.push({ fatal: false, source, text });
  const resetClock = () => { s.lastT = v.currentTime; s.lastAdvance = performance.now(); };
  // Start-up, seeks and pauses are not stalls: tracking resumes once the clock moves again.
  const exempt = () => { s.exempt = true; resetClock(); };
  v.addEventListener('playing', () => { if (s.firstPlaying === null) s.firstPlaying = v.currentTime; });
  v.addEventListener('seeking', exempt);
  v.addEventListener('pause', exempt);
  v.addEventListener('waiting', () => { if (!s.exempt) s.waits.push(v.currentTime); });
  v.addEventListener('error', () => fail('media', v.error ? v.error.code + ' ' + v.error.message : 'unknown'));
  setInterval(() => {
    const now = performance.now();
    const t = v.currentTime;
    const running = !v.paused && !v.seeking && !v.ended;
    if (t !== s.lastT) {
      if (s.exempt && running) s.exempt = false;
      s.lastT = t;
      s.lastAdvance = now;
      return;
    }
    if (s.exempt || !running) { s.lastAdvance = now; return; }
    const ms = now - s.lastAdvance;
    if (ms > s.maxStallMs) s.maxStallMs = ms;
    const last = s.stalls[s.stalls.length - 1];
    if (ms > 250) {
      if (last !== undefined && last.at === t) last.ms = ms;
      else s.stalls.push({ at: t, ms });
    }
  }, 50);

  const text = (x) => { try { return typeof x === 'string' ? x : JSON.stringify(x, (k, val) => (val instanceof Element || k === 'frag' || k === 'part' || k === 'networkDetails' || k === 'context' || k === 'loader' || k === 'stats' ? undefined : val)).slice(0, 800); } catch { return String(x); } };

  window.h4 = {
    start(kind, url) {
      if (kind === 'hls') {
        if (!window.Hls || !Hls.isSupported()) { fail('hls', 'hls.js missing or MSE unsupported'); return; }
        const hls = new Hls({ enableWorker: true });
        hls.on(Hls.Events.ERROR, (_e, d) => {
          const where = d.frag ? ' [' + d.frag.type + ' sn ' + d.frag.sn + ' ' + d.frag.url + ']' : '';
          const why = d.error ? String(d.error && d.error.message || d.error) : d.reason || '';
          (d.fatal ? fail : note)('hls.js', d.type + '/' + d.details + where + (why ? ': ' + why : ''));
        });
        hls.loadSource(url);
        hls.attachMedia(v);
        window.player = hls;
      } else {
        const p = dashjs.MediaPlayer().create();
        p.updateSettings({ debug: { logLevel: dashjs.Debug.LOG_LEVEL_WARNING } });
        p.on('error', (e) => fail('dash.js', text(e.error || e)));
        p.on('playbackError', (e) => fail('dash.js playback', text(e.error || e)));
        p.initialize(v, url, false);
        window.player = p;
      }
      const go = () => v.play().catch((e) => note('play()', String(e)));
      if (v.readyState >= 1) go();
      else v.addEventListener('loadedmetadata', go, { once: true });
    },
    state() {
      const buffered = [];
      for (let i = 0; i < v.buffered.length; i++) buffered.push([v.buffered.start(i), v.buffered.end(i)]);
      const q = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : { droppedVideoFrames: 0, totalVideoFrames: 0 };
      return {
        currentTime: v.currentTime, duration: v.duration, paused: v.paused, seeking: v.seeking, ended: v.ended, readyState: v.readyState,
        buffered, firstPlaying: s.firstPlaying, maxStallMs: s.maxStallMs, stalls: s.stalls, waits: s.waits,
        errors: s.errors, fatal: s.fatal,
        audioDecodedBytes: v.webkitAudioDecodedByteCount || 0, videoDecodedBytes: v.webkitVideoDecodedByteCount || 0,
        droppedFrames: q.droppedVideoFrames, totalFrames: q.totalVideoFrames,
      };
    },
    seek(t) { v.currentTime = t; },
    play() { v.play().catch((e) => note('play()', String(e))); },
    async grab(t) {
      v.pause();
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      const presented = new Promise((r) => v.requestVideoFrameCallback((_now, md) => r(md.mediaTime)));
      const seeked = new Promise((r) => v.addEventListener('seeked', r, { once: true }));
      v.currentTime = t;
      await seeked;
      const mediaTime = await Promise.race([presented, new Promise((r) => setTimeout(() => r(null), 5000))]);
      const c = document.getElementById('c');
      c.width = v.videoWidth;
      c.height = v.videoHeight;
      const ctx = c.getContext('2d', { willReadFrequently: true });
      ctx.drawImage(v, 0, 0, c.width, c.height);
      const data = ctx.getImageData(0, 0, c.width, c.height).data;
      let binary = '';
      for (let i = 0; i < data.length; i += 0x8000) binary += String.fromCharCode(...data.subarray(i, i + 0x8000));
      return { mediaTime, currentTime: v.currentTime, width: c.width, height: c.height, rgba: btoa(binary) };
    },
  };
})();
`;

/** The page's HTML; the player scripts come from `/__test/`. */
export const PLAYER_PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>players</title></head>
<body>
<video id="v" muted playsinline></video>
<canvas id="c"></canvas>
<script src="/__test/hls.min.js"></script>
<script src="/__test/dash.all.min.js"></script>
<script>${SCRIPT}</script>
</body></html>
`;
