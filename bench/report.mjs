/**
 * Writes bench/results.md and bench/results.svg from bench/out/*.json
 * (issue 8). Run by `node bench/run.mjs` after the sections, or alone:
 *
 *   node bench/report.mjs [--command "npm run bench"] [--out-dir bench]
 *
 * Every file is optional. Each section file may carry `rows`, comparison rows
 * of this shape (bench/peers/run.mjs writes them; others are welcome to):
 *
 *   { section, metric, unit, better: 'higher' | 'lower', subject, value,
 *     baseline, baselineValue, ratio (= value ÷ baselineValue), note }
 *
 * core.json is read by its known fields; a file without `rows` is listed
 * with the numeric fields whose name contains "ratio".
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    command: { type: 'string' },
    /** JSON { section: seconds } from bench/run.mjs: wall time of each section of this run. */
    elapsed: { type: 'string' },
    'out-dir': { type: 'string', default: here },
  },
});
const outDir = args['out-dir'];
const dataDir = join(here, 'out');
const ORDER = ['core', 'format', 'peers', 'crypto', 'remote', 'server', 'delivery', 'inspector'];

/* ------------------------------------------------------------ inputs */

const files = {};
if (existsSync(dataDir)) {
  for (const name of readdirSync(dataDir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    try {
      files[name.replace(/\.json$/, '')] = JSON.parse(readFileSync(join(dataDir, name), 'utf8'));
    } catch (error) {
      process.stderr.write(`report: skipping bench/out/${name}: ${error.message}\n`);
    }
  }
}
const names = [...ORDER.filter((n) => n in files), ...Object.keys(files).filter((n) => !ORDER.includes(n))];

/* ----------------------------------------------------------- helpers */

const fmt = (x, digits) => {
  if (typeof x !== 'number' || !Number.isFinite(x)) return String(x ?? '–');
  const a = Math.abs(x);
  const d = digits ?? (a >= 1000 ? 0 : a >= 100 ? 1 : a >= 1 ? 2 : 3);
  return x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
};
const bytes = (n) =>
  n >= 2 ** 30 ? `${fmt(n / 2 ** 30, 2)} GiB` : n >= 2 ** 20 ? `${fmt(n / 2 ** 20, 2)} MiB` : n >= 1024 ? `${fmt(n / 1024, 1)} KiB` : `${n} B`;
const cell = (s) => String(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');
const mdTable = (head, body) =>
  [`| ${head.map(cell).join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...body.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
const verdict = (r) => {
  if (r.advantage === Number.POSITIVE_INFINITY) return '**nothing read**';
  if (!Number.isFinite(r.advantage)) return '–';
  if (r.advantage >= 1.05) return `**${fmt(r.advantage, 2)}× better**`;
  if (r.advantage > 1 / 1.05) return 'even';
  return `${fmt(1 / r.advantage, 2)}× worse`;
};

function osName() {
  try {
    const m = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'));
    if (m) return `${m[1]}, Linux ${release()}`;
  } catch {}
  return `${process.platform} ${release()}`;
}

/** Rows of a file, with ratio and advantage filled in. */
function withRatios(rows) {
  return rows
    .filter((r) => r && typeof r.value === 'number' && typeof r.baselineValue === 'number')
    .map((r) => {
      const ratio = r.ratio ?? r.value / r.baselineValue;
      const advantage = r.better === 'lower' ? 1 / ratio : r.better === 'higher' ? ratio : Number.NaN;
      return { ...r, ratio, advantage };
    });
}

/** Comparison rows derived from core.json (bench/run.mjs, issue 2). */
function coreRows(c) {
  const rows = [];
  const add = (section, metric, unit, better, subject, value, baseline, baselineValue, note = '') => {
    if (typeof value === 'number' && typeof baselineValue === 'number')
      rows.push({ section, metric, unit, better, subject, value, baseline, baselineValue, note });
  };
  const hours = c.movie ? `${fmt(c.movie.durationUs / 3600e6, 2)} h` : '';
  if (c.pack) {
    add(
      `core pack, movie ${hours}`,
      'pack throughput',
      'MB/s',
      'higher',
      'h4mk none',
      c.pack.none?.mbPerS,
      'plain copy (the limit)',
      c.pack.plain?.mbPerS,
      `${fmt(c.pack.blocks, 0)} blocks, ${bytes(c.pack.payloadBytes)}`,
    );
    add(`core pack, movie ${hours}`, 'pack throughput', 'MB/s', 'higher', 'h4mk zstd', c.pack.zstd?.mbPerS, 'plain copy (the limit)', c.pack.plain?.mbPerS);
  }
  if (c.movie?.open)
    add(
      `core open, movie ${hours}`,
      'bytes read to open',
      'bytes',
      'lower',
      'h4mk',
      c.movie.open.bytesRead,
      'open budget (512 KiB, issue 2)',
      512 * 1024,
      `${c.movie.open.readCount} reads`,
    );
  const s = c.seek;
  if (s?.tracks?.video_main && s.awaitFloor) {
    add(
      `core seek, ${fmt(s.blocks, 0)} blocks`,
      'video seek, warm, median',
      'ns',
      'lower',
      'h4mk',
      s.tracks.video_main.warm.medianNs,
      'goal: 1 µs (issue 2)',
      1000,
      `an empty awaited call costs ${fmt(s.awaitFloor.medianNs, 0)} ns`,
    );
  }
  if (c.rss) add('core memory', 'writer heap growth per block', 'B/block', 'lower', 'h4mk', c.rss.heapGrowthBytesPerBlock, 'goal: 64 B (issue 2)', 64);
  return rows;
}

/** Numeric fields named like a ratio, for files without `rows`. */
function ratioFields(obj, path = [], out = []) {
  if (obj === null || typeof obj !== 'object' || out.length >= 40) return out;
  for (const [k, v] of Object.entries(obj)) {
    if (typeof v === 'number' && /ratio/i.test(k)) out.push([[...path, k].join('.'), v]);
    else if (typeof v === 'object' && !Array.isArray(v)) ratioFields(v, [...path, k], out);
  }
  return out;
}

/* ------------------------------------------------------------- rows */

const sections = names.map((name) => {
  const f = files[name];
  let rows = [];
  if (Array.isArray(f.rows)) rows = withRatios(f.rows);
  else if (name === 'core') rows = withRatios(coreRows(f));
  return { name, file: f, rows, ratios: rows.length === 0 ? ratioFields(f) : [] };
});
const allRows = sections.flatMap((s) => s.rows.map((r) => ({ ...r, file: s.name })));

/* -------------------------------------------------------------- svg */

function svgChart(rows) {
  const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  const plotted = rows.filter((r) => Number.isFinite(r.advantage) && r.advantage > 0);
  const LIMIT = 7; // log2 range: 1/128 … 128
  const W = 1000;
  const labelW = 560;
  const plotX = labelW + 10;
  const plotW = W - plotX - 70;
  const rowH = 18;
  const top = 58;
  let y = top;
  const items = [];
  let section = null;
  for (const r of plotted) {
    if (r.section !== section) {
      section = r.section;
      y += 6;
      items.push(`<text x="8" y="${y + 12}" class="h">${esc(section)}</text>`);
      y += rowH;
    }
    const l = Math.max(-LIMIT, Math.min(LIMIT, Math.log2(r.advantage)));
    const x0 = plotX + plotW / 2;
    const x1 = x0 + (l / LIMIT) * (plotW / 2);
    const good = r.advantage >= 1;
    const label = `${r.metric}: ${r.subject} vs ${r.baseline}`;
    items.push(`<text x="${labelW}" y="${y + 12}" class="l" text-anchor="end">${esc(label.length > 92 ? `${label.slice(0, 91)}…` : label)}</text>`);
    items.push(
      `<rect x="${Math.min(x0, x1).toFixed(1)}" y="${y + 3}" width="${Math.max(1, Math.abs(x1 - x0)).toFixed(1)}" height="${rowH - 6}" fill="${good ? '#2e7d32' : '#c62828'}"><title>${esc(`${label}: ${fmt(r.value)} vs ${fmt(r.baselineValue)} ${r.unit}`)}</title></rect>`,
    );
    // Values right of the bar end (h4mk better) or right of the 1× line (worse): never over the labels.
    const tx = good ? x1 + 4 : x0 + 4;
    items.push(
      `<text x="${tx.toFixed(1)}" y="${y + 12}" class="v" text-anchor="start">${good ? '' : '1/'}${fmt(good ? r.advantage : 1 / r.advantage, r.advantage >= 10 || r.advantage <= 0.1 ? 0 : 2)}×</text>`,
    );
    y += rowH;
  }
  const H = y + 34;
  const axis = [];
  for (let e = -LIMIT + 1; e <= LIMIT - 1; e += 2) {
    const x = plotX + plotW / 2 + (e / LIMIT) * (plotW / 2);
    axis.push(`<line x1="${x.toFixed(1)}" y1="${top - 6}" x2="${x.toFixed(1)}" y2="${y}" class="g"/>`);
    axis.push(`<text x="${x.toFixed(1)}" y="${y + 16}" class="a" text-anchor="middle">${e < 0 ? `1/${2 ** -e}` : 2 ** e}×</text>`);
  }
  const mid = plotX + plotW / 2;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif">
<style>.t{font-size:15px;font-weight:bold}.s{font-size:11px;fill:#555}.h{font-size:12px;font-weight:bold;fill:#222}.l{font-size:11px;fill:#222}.v{font-size:10px;fill:#222}.a{font-size:10px;fill:#666}.g{stroke:#ddd;stroke-width:1}</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="8" y="20" class="t">h4mk against each named baseline (log scale; right/green = h4mk better, left/red = worse)</text>
<text x="8" y="38" class="s">advantage = h4mk ÷ baseline for throughput, baseline ÷ h4mk for time, bytes and memory; bars clipped at 128×. Data: bench/results.md</text>
${axis.join('\n')}
<line x1="${mid}" y1="${top - 6}" x2="${mid}" y2="${y}" stroke="#333" stroke-width="1.5"/>
${items.join('\n')}
</svg>
`;
}

/* --------------------------------------------------------- markdown */

const any = sections[0]?.file ?? {};
const machine = any.machine ?? {};
const c0 = cpus();
const command = args.command ?? (process.env.npm_lifecycle_event ? `npm run ${process.env.npm_lifecycle_event}` : 'node bench/report.mjs');
const md = [];
md.push('# h4mk benchmark results', '');
md.push(
  `Written by \`bench/report.mjs\` on ${new Date().toISOString()} from ${sections.length ? sections.map((s) => `\`bench/out/${s.name}.json\` (${s.file.date ?? 'undated'})`).join(', ') : 'no data (run `npm run bench`)'}.`,
  '',
);
md.push(`- **Command:** \`${command}\``);
md.push(
  `- **Machine:** ${machine.cpu ?? c0[0]?.model ?? 'unknown'}, ${machine.cores ?? c0.length} cores, ${machine.totalMemGiB ?? fmt(totalmem() / 2 ** 30, 1)} GiB; Node ${machine.node ?? process.version}; ${osName()}`,
);
const loads = sections.filter((s) => s.file.loadAverageAtStart).map((s) => `${s.name} ${s.file.loadAverageAtStart.join('/')}`);
if (loads.length)
  md.push(
    `- **Load average at start (1/5/15 min):** ${loads.join('; ')} — a shared machine: other tenants add noise; a ratio compares figures of the same run unless its note says otherwise.`,
  );
if (args.elapsed) {
  const e = JSON.parse(args.elapsed);
  md.push(
    `- **Elapsed per section (this run):** ${Object.entries(e)
      .map(([k, v]) => `${k} ${fmt(v, 0)} s`)
      .join(', ')}; total ${fmt(
      Object.values(e).reduce((a, b) => a + b, 0),
      0,
    )} s`,
  );
} else {
  const elapsed = sections.filter((s) => typeof s.file.elapsedS === 'number').map((s) => `${s.name} ${fmt(s.file.elapsedS, 0)} s`);
  if (elapsed.length) md.push(`- **Elapsed per section:** ${elapsed.join(', ')}`);
}
md.push('');
md.push(
  'Ratios are h4mk ÷ baseline of medians (measured in the same run unless the note names another source). “h4mk is” reads the ratio the right way round for the unit (more MB/s is better; fewer ms, bytes or MiB is better). Rows where h4mk loses stay, with the reason in the note.',
  '',
);
md.push('![h4mk against each baseline](results.svg)', '');

if (allRows.length) {
  md.push('## h4mk against each baseline', '');
  md.push(
    '“CPU ratio”, where given: the same comparison in payload bytes per CPU-second of the process (user + system), which other tenants of a shared machine disturb much less than wall time.',
    '',
  );
  md.push(
    mdTable(
      ['section', 'measure', 'h4mk', 'value', 'baseline', 'value', 'h4mk ÷ baseline', 'h4mk is', 'CPU ratio', 'note'],
      allRows.map((r) => [
        r.section,
        r.metric,
        r.subject,
        `${fmt(r.value)} ${r.unit}`,
        r.baseline,
        `${fmt(r.baselineValue)} ${r.unit}`,
        fmt(r.ratio, 3),
        verdict(r),
        typeof r.cpuRatio === 'number' ? fmt(r.cpuRatio, 3) : '',
        r.note ?? '',
      ]),
    ),
    '',
  );
}

/* Peers: absolute medians, options. */
const peers = files.peers;
if (peers) {
  md.push('## Peers in detail (bench/peers, `--only peers`)', '');
  md.push(
    `Command: \`${peers.command}\`; arguments: ${Object.entries(peers.args ?? {})
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}; ${fmt(peers.elapsedS, 0)} s (${Object.entries(peers.sections ?? {})
      .map(([k, v]) => `${k} ${v} s`)
      .join(', ')}).`,
    '',
  );
  for (const p of Object.values(peers.pack ?? {})) {
    md.push(`### Pack: ${p.workload.description}`, '');
    md.push(
      `${fmt(p.workload.blocks, 0)} blocks, ${bytes(p.workload.payloadBytes)} of payload; median of ${peers.args?.runs} runs, each to a durable file (synced, closed, renamed).`,
      '',
    );
    md.push(
      mdTable(
        ['writer', 'MB/s', 'median ms', 'runs (ms)', 'CPU ms', 'blocks', 'file', 'overhead / block', 'vs plain copy'],
        Object.values(p.variants).map((v) => [
          v.label,
          fmt(v.mbPerS, 1),
          fmt(v.medianMs, 0),
          v.runsMs.map((x) => fmt(x, 0)).join(', '),
          fmt(v.cpuMs, 0),
          fmt(v.blocks, 0),
          bytes(v.fileBytes),
          `${fmt(v.overheadBytesPerBlock, 1)} B`,
          fmt(v.mbPerS / p.variants.plain.mbPerS, 3),
        ]),
      ),
      '',
    );
  }
  if (peers.open) {
    md.push('### Open + first keyframe (with its payload), local file, page cache warm', '');
    const body = [];
    for (const [where, o] of Object.entries(peers.open)) {
      for (const [f, x] of Object.entries(o))
        body.push([
          where === 'large' ? `${fmt(peers.args?.blocks, 0)} blocks` : 'movie-shaped',
          f,
          bytes(x.fileBytes),
          fmt(x.openMs, 2),
          fmt(x.firstSeekMs, 2),
          fmt(x.openFirstMs, 2),
          fmt(x.openFirstP99Ms, 2),
        ]);
    }
    md.push(mdTable(['file', 'format', 'size', 'open ms', 'first seek ms', 'open + first ms (median)', 'p99 ms'], body), '');
  }
  if (peers.seek) {
    const s = peers.seek;
    md.push(
      `### Seek latency per call at ${Object.entries(s.blocks)
        .map(([f, n]) => `${f} ${fmt(n, 0)}`)
        .join(', ')} blocks`,
      '',
    );
    md.push(
      `Random targets over ${fmt(s.durationUs / 3600e6, 2)} h of content, each call timed alone; a reader that has made one seek. h4mk and MP4 return the keyframe at or before t; MCAP returns the first message at or after t (it has no keyframe notion). “index” = where the packet is, without its bytes (MP4: \`metadataOnly\`).`,
      '',
    );
    const body = [];
    for (const [f, tracks] of Object.entries(s.tracks))
      for (const [t, kinds] of Object.entries(tracks))
        for (const [k, x] of Object.entries(kinds)) body.push([f, t, k, fmt(x.medianNs / 1e3, 2), fmt(x.p99Ns / 1e3, 2), fmt(x.n, 0)]);
    md.push(mdTable(['format', 'track', 'what', 'median µs', 'p99 µs', 'seeks'], body), '');
  }
  if (peers.memory) {
    md.push('### Memory (one child process per role)', '');
    const body = [];
    for (const [role, m] of Object.entries(peers.memory)) {
      for (const [f, x] of Object.entries(m)) {
        if (!x?.small?.peakRssKiB) continue;
        body.push([
          role,
          f,
          fmt(x.small.blocks, 0),
          `${fmt(x.small.peakRssKiB / 1024, 1)} MiB`,
          fmt(x.large.blocks, 0),
          `${fmt(x.large.peakRssKiB / 1024, 1)} MiB`,
          `${fmt(x.peakGrowthBytesPerBlock, 1)} B`,
          `${bytes(x.small.retainedGrowth)} → ${bytes(x.large.retainedGrowth)}`,
          `${fmt(x.retainedGrowthBytesPerBlock, 1)} B`,
        ]);
      }
    }
    md.push(
      mdTable(
        ['role', 'format', 'small: blocks', 'peak RSS', 'large: blocks', 'peak RSS', 'peak growth / block', 'retained after GC', 'retained / block'],
        body,
      ),
      '',
    );
    md.push(
      'Peak RSS is the whole process (VmHWM since the end of set-up: Node and the three libraries account for ~100 MiB of it). Retained = V8 heap + external buffers after a full GC, over the same figure after set-up (writers: just before finish; readers: after their seeks, reader open). Peak-RSS growth is coarse (the allocator keeps freed pages); the retained growth is the per-block state.',
      '',
    );
    md.push(
      'Writers stream tiny-payload blocks (8–32 B: the index, not the payloads, is what grows); MP4 skips the control track. Readers open the large file and fetch 100 video keyframes and 100 audio packets at random times with their payloads.',
      '',
    );
  }
  if (peers.options) {
    md.push('### How each peer was driven', '');
    for (const [k, v] of Object.entries(peers.options)) md.push(`- **${k}:** ${v}`);
    md.push('');
  }
}

/** bench/inspector.mjs (issue 14): the figures behind its rows, with the breakdowns. */
function inspectorDetail(f) {
  const F = f.firstFrame;
  const S = f.seek;
  const T = f.steps;
  if (!F || !S || !T) return [];
  const ms = (x) => `${fmt(x, 1)} ms`;
  const lines = [];
  lines.push(
    `Clip: ${f.clip?.description ?? '?'}; MP4 ${bytes(f.clip?.bytes)}, h4mk ${bytes(f.clip?.h4mkBytes)}. Browser: ${f.browser ?? '?'}. Load average (1/5/15 min): ${f.loadAverageAtStart?.join('/')} at start, ${f.loadAverageAtEnd?.join('/')} at end (2 cores shared by the browser, both servers and other tenants). Times are the page's performance.now() (navigation start = 0), not CDP round trips.`,
    '',
  );
  lines.push(
    mdTable(
      ['measure', 'h4mk inspector', 'baseline', 'baseline value', 'h4mk ÷ baseline', 'goal', 'detail'],
      [
        [
          'cold time to first frame, median',
          ms(F.h4mk.ms.median),
          '<video preload=auto>, first requestVideoFrameCallback',
          ms(F.video.ms.median),
          fmt(F.ratio, 3),
          `≤ 300 ms: ${F.h4mk.ms.median <= 300 ? 'MET' : 'MISSED'}`,
          `${F.h4mk.ms.n} runs, new browser context each; h4mk runs ${F.h4mk.ms.runs.join(', ')} ms; <video> runs ${F.video.ms.runs.join(', ')} ms ('loadeddata' ${ms(F.video.loadeddataMs.median)})`,
        ],
        [
          'cold time to first frame, p90',
          ms(F.h4mk.ms.p90),
          'same',
          ms(F.video.ms.p90),
          fmt(F.h4mk.ms.p90 / F.video.ms.p90, 3),
          '',
          `h4mk: scripts in at ${ms(F.h4mk.scriptsLoadedMs)}, container reads ${fmt(F.h4mk.containerStartMs, 0)}–${fmt(F.h4mk.containerEndMs, 0)} ms (${F.h4mk.containerRequests} requests, ${bytes(F.h4mk.containerBytes)}), decode + draw ${ms(F.h4mk.afterLastByteMs)} after the last byte; page total ${F.h4mk.pageRequests} requests, ${bytes(F.h4mk.pageTransferBytes)}`,
        ],
        [
          'seek to frame, warm page, median',
          ms(S.h4mk.ms.median),
          '<video>: currentTime → seeked + requestVideoFrameCallback',
          ms(S.video.ms.median),
          fmt(S.ratio, 3),
          `≤ 100 ms: ${S.h4mk.ms.median <= 100 ? 'MET' : 'MISSED'}`,
          `${S.h4mk.ms.n} fixed-seed targets, the same for both; h4mk per seek (medians): ${fmt(S.h4mk.requests.median, 0)} request(s), ${bytes(S.h4mk.bytes.median)}, ${S.h4mk.missMs?.n} seeks sent requests (median ${ms(S.h4mk.missMs?.median)}), ${S.h4mk.hitMs?.n} were answered by the page's cache (median ${ms(S.h4mk.hitMs?.median)}); the page's read ${ms(S.h4mk.pageReadMs?.median)} + decode ${ms(S.h4mk.pageDecodeMs?.median)} of ${fmt(S.h4mk.decoded?.median, 0)} frames; <video> had buffered to ${fmt(S.video.bufferedEndS, 2)} s`,
        ],
        [
          'seek to frame, warm page, p90',
          ms(S.h4mk.ms.p90),
          'same',
          ms(S.video.ms.p90),
          fmt(S.h4mk.ms.p90 / S.video.ms.p90, 3),
          '',
          `min–max: h4mk ${fmt(S.h4mk.ms.min, 0)}–${fmt(S.h4mk.ms.max, 0)} ms, <video> ${fmt(S.video.ms.min, 0)}–${fmt(S.video.ms.max, 0)} ms`,
        ],
        [
          `bytes read for ${T.frames.length} consecutive frame steps (→) after a seek to 5.0 s`,
          `${fmt(T.networkBytes, 0)} B in ${T.networkRequests} requests`,
          `${T.frames.length} × the clip's mean GOP (MP4 bytes ÷ ${f.clip?.keyframes} keyframes)`,
          `${fmt(T.frames.length * f.clip?.meanGopBytes, 0)} B`,
          fmt(T.ratio, 4),
          '',
          `seek stats: ${T.seekStatsRequests} requests, ${fmt(T.seekStatsBytes, 0)} B; the seek to 5.0 s itself read ${fmt(T.from.bytes, 0)} B; per step (medians) ${bytes(T.cacheBytesPerStep)} from the page's cache, ${fmt(T.decodedPerStep, 0)} frames decoded, ${ms(T.ms.median)}`,
        ],
      ],
    ),
    '',
  );
  return lines;
}

/* Other sections: their own rows are in the summary; list ratio fields of files without rows. */
for (const s of sections) {
  if (s.name === 'peers') continue;
  md.push(`## ${s.name} (bench/out/${s.name}.json)`, '');
  const f = s.file;
  if (f.command) md.push(`Command: \`${f.command}\``, '');
  if (f.args)
    md.push(
      `Arguments: ${Object.entries(f.args)
        .map(([k, v]) => `${k} ${typeof v === 'object' ? JSON.stringify(v) : v}`)
        .join(', ')}.`,
      '',
    );
  if (s.name === 'inspector') md.push(...inspectorDetail(f));
  if (s.rows.length) md.push(`${s.rows.length} comparison row(s) in the summary table above.`, '');
  if (s.ratios.length)
    md.push(
      mdTable(
        ['field', 'value'],
        s.ratios.map(([k, v]) => [k, fmt(v, 3)]),
      ),
      '',
    );
  if (f.goals)
    md.push(
      mdTable(
        ['goal', 'status', 'value'],
        Object.entries(f.goals).map(([k, v]) => [k, v.status, v.value]),
      ),
      '',
    );
  if (!s.rows.length && !s.ratios.length && !f.goals) md.push('No comparison rows in this file: see the JSON.', '');
}
const missing = ORDER.filter((n) => !(n in files));
if (missing.length) md.push(`Not in this report (no bench/out/*.json yet): ${missing.join(', ')}.`, '');

writeFileSync(join(outDir, 'results.md'), `${md.join('\n')}\n`);
writeFileSync(join(outDir, 'results.svg'), svgChart(allRows));
process.stdout.write(
  `report: ${allRows.length} comparison rows from ${sections.map((s) => s.name).join(', ') || 'nothing'} → ${join(outDir, 'results.md')}, ${join(outDir, 'results.svg')}\n`,
);
