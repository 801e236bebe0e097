/**
 * Evaluation of the captureQuality measures on the labelled quality set of scripts/synth-quality.ts.
 *
 *   pnpm eval:quality [--dir DIR] [--limit N] [--out FILE]
 *
 * Reads DIR/MANIFEST.tsv (default .eval/synth-quality; build it first with
 * `pnpm exec tsx scripts/synth-quality.ts`). Every photo, untouched ("clear" rows) or degraded, goes through the
 * same path as in the service: decodeImage once, analyzeFaces, then inspectCaptureQuality on the single face with
 * the file's bytes as the optional source (only the JPEG header is read from them).
 *
 * Prints, per measure (reason code): the false-flag rate on the untouched clear photos and the detection rate at each
 * degradation strength of its kind, each with a Wilson 95 % interval, for all subjects and for the test half of the
 * subject split (thresholds were reasoned on the dev half; see DEFAULT_QUALITY_THRESHOLDS); the rate over the clearly
 * degraded photos against the targets (>= 95 % flagged, <= 5 % of clear photos flagged); the measure's value
 * distribution; which other reasons each degradation raises; and the stage's cost (wall and CPU ms per photo).
 * Photos on which the faces stage finds no single face are counted apart (the stage would not run on them).
 * Writes the per-photo results to FILE (default .eval/quality-latest.json).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  analyzeFaces,
  captureQualityOf,
  createFaceEngine,
  DEFAULT_QUALITY_THRESHOLDS,
  decodeImage,
  type QualityThresholds,
  STAGE_MODELS,
} from '../packages/face-engine/src/index.js';
import { formatRate, percentile } from './lib/stats.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const WARMUP_PHOTOS = 3;

interface Row {
  file: string;
  kind: string;
  strength: string;
  clearly: boolean;
  reason: string;
  source: string;
  group: string;
  split: string;
  sourceIed: number;
}

interface Result {
  row: Row;
  faces: number;
  reasons: string[];
  breakdown: Record<string, unknown>;
  wallMs: number;
  cpuMs: number;
  error?: string;
}

function readManifest(dir: string): Row[] {
  const path = join(dir, 'MANIFEST.tsv');
  if (!existsSync(path)) {
    throw new Error(`${path} not found: build the set first with pnpm exec tsx scripts/synth-quality.ts`);
  }
  const lines = readFileSync(path, 'utf8')
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '');
  const header = (lines.shift() ?? '').split('\t');
  return lines.map((line) => {
    const c = line.split('\t');
    const r = Object.fromEntries(header.map((h, i) => [h, c[i] ?? ''])) as Record<string, string>;
    const file = r.file ?? '';
    return {
      file: isAbsolute(file) ? file : join(dir, file),
      kind: r.kind ?? '',
      strength: r.strength ?? '',
      clearly: r.clearly_degraded === 'yes',
      reason: r.expected_reason ?? '',
      source: r.source_file ?? '',
      group: r.group ?? '',
      split: r.split ?? '',
      sourceIed: Number(r.source_ied ?? 'NaN'),
    };
  });
}

/** Which degradation kinds test which reason, and the breakdown numbers behind it. */
const MEASURES: { reason: string; kinds: string[]; fields: string[]; sign?: (r: Row) => boolean }[] = [
  { reason: 'BLURRY', kinds: ['gauss', 'motion'], fields: ['blurPx'] },
  { reason: 'GLARE_ON_FACE', kinds: ['glare'], fields: ['glarePercent'] },
  {
    reason: 'UNDEREXPOSED',
    kinds: ['exposure'],
    fields: ['luminanceMean', 'highlightLuma'],
    sign: (r) => r.strength.startsWith('-'),
  },
  {
    reason: 'OVEREXPOSED',
    kinds: ['exposure'],
    fields: ['luminanceMean', 'clippedPercent'],
    sign: (r) => r.strength.startsWith('+'),
  },
  { reason: 'LOW_RESOLUTION', kinds: ['small'], fields: ['interEyeDistancePx'] },
  { reason: 'EYES_CLOSED', kinds: ['shut', 'eyes'], fields: ['eyeOpenness'] },
  { reason: 'HEAVY_COMPRESSION', kinds: ['jpeg'], fields: ['jpegQuality', 'blockiness'] },
  { reason: 'UNEVEN_LIGHTING', kinds: ['shade'], fields: ['lightingImbalanceStops'] },
];

const STRENGTH_ORDER = (s: string) => {
  const m = /-?[\d.]+/.exec(s);
  return m ? Number(m[0]) : 0;
};

function pad(s: string, n: number) {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

async function main() {
  const { values: opts } = parseArgs({
    args: process.argv.slice(2).filter((a) => a !== '--'),
    options: {
      dir: { type: 'string' },
      limit: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (opts.help) {
    console.log('usage: pnpm eval:quality [--dir DIR] [--limit N] [--out FILE.json]');
    return;
  }
  const dir = resolve(opts.dir ?? join(repoRoot, '.eval', 'synth-quality'));
  let rows = readManifest(dir);
  if (opts.limit !== undefined) rows = rows.slice(0, Number(opts.limit));
  const th: QualityThresholds = { ...DEFAULT_QUALITY_THRESHOLDS };
  const lines: string[] = [];
  const out = (s = '') => {
    lines.push(s);
    console.log(s);
  };
  const engine = await createFaceEngine({ models: STAGE_MODELS.faces });
  out(`quality set: ${dir} (${rows.length} photos)`);
  out(`thresholds: ${JSON.stringify(th)}`);
  const loadText = () =>
    loadavg()
      .map((x) => x.toFixed(2))
      .join(' / ');
  out(`machine: ${availableParallelism()} cores; load average at start ${loadText()}`);

  const results: Result[] = [];
  const t0 = performance.now();
  try {
    for (const [i, row] of rows.entries()) {
      if (i > 0 && i % 200 === 0) {
        process.stderr.write(`  ${i}/${rows.length} photos, ${Math.round((performance.now() - t0) / 1000)} s\n`);
      }
      try {
        const bytes = readFileSync(row.file);
        const image = await decodeImage(bytes);
        const { faces } = await analyzeFaces(engine, image);
        const face = faces.length === 1 ? faces[0] : undefined;
        if (!face) {
          results.push({ row, faces: faces.length, reasons: [], breakdown: {}, wallMs: 0, cpuMs: 0 });
          continue;
        }
        const c0 = process.cpuUsage();
        const w0 = performance.now();
        const inspection = captureQualityOf(image, face, th, { bytes });
        const wallMs = performance.now() - w0;
        const cpu = process.cpuUsage(c0);
        results.push({
          row,
          faces: 1,
          reasons: inspection.reasons,
          breakdown: inspection.breakdown,
          wallMs,
          cpuMs: (cpu.user + cpu.system) / 1000,
        });
      } catch (err) {
        results.push({ row, faces: 0, reasons: [], breakdown: {}, wallMs: 0, cpuMs: 0, error: (err as Error).message });
      }
    }
  } finally {
    await engine.dispose();
  }
  out(`evaluated in ${Math.round((performance.now() - t0) / 1000)} s; load average at end ${loadText()}`);
  const errors = results.filter((r) => r.error);
  if (errors.length) out(`errors: ${errors.length} (${errors.map((e) => `${e.row.file}: ${e.error}`).join('; ')})`);

  const analysed = results.filter((r) => r.faces === 1);
  const clear = analysed.filter((r) => r.row.kind === 'clear');
  const eyesClosedSources = new Set(results.filter((r) => r.row.kind === 'eyes').map((r) => r.row.source));
  /** Untouched photos that are themselves positives for a reason (a real closed eye, an eye distance below the
   * threshold) are not false flags. */
  const clearFor = (reason: string) =>
    clear.filter((r) => {
      if (reason === 'EYES_CLOSED') return !eyesClosedSources.has(r.row.source);
      if (reason === 'LOW_RESOLUTION') return !(r.row.sourceIed < th.minInterEyeDistancePx);
      return true;
    });
  const flagged = (rs: Result[], reason: string) => rs.filter((r) => r.reasons.includes(reason)).length;
  const both = (rs: Result[], reason: string) => {
    const test = rs.filter((r) => r.row.split === 'test');
    return `${pad(formatRate(flagged(rs, reason), rs.length), 40)} ${formatRate(flagged(test, reason), test.length)}`;
  };
  const noFace = (kind: string, strength: string) =>
    results.filter((r) => r.row.kind === kind && r.row.strength === strength && r.faces !== 1 && !r.error).length;

  out();
  out('Rates: flagged / photos with exactly one face, Wilson 95 % CI; "test" = the test half of the subject split.');
  out('Targets: >= 95 % of clearly degraded photos flagged (*), <= 5 % of untouched clear photos flagged.');
  const summary: string[] = [];
  for (const m of MEASURES) {
    out();
    out(`== ${m.reason} (${m.fields.join(', ')})`);
    out(`  ${pad('', 34)} ${pad('all subjects', 40)} test split`);
    const cl = clearFor(m.reason);
    out(`  ${pad('untouched clear (false flags)', 34)} ${both(cl, m.reason)}`);
    const deg = analysed.filter((r) => m.kinds.includes(r.row.kind) && (!m.sign || m.sign(r.row)));
    const groups = new Map<string, Result[]>();
    for (const r of deg) {
      const key = `${r.row.kind} ${r.row.strength}`;
      groups.set(key, [...(groups.get(key) ?? []), r]);
    }
    const keys = [...groups.keys()].sort((a, b) => {
      const [ka, sa] = a.split(' ') as [string, string];
      const [kb, sb] = b.split(' ') as [string, string];
      return ka === kb ? STRENGTH_ORDER(sa) - STRENGTH_ORDER(sb) : ka.localeCompare(kb);
    });
    for (const key of keys) {
      const rs = groups.get(key) ?? [];
      const first = rs[0]?.row;
      const shouldPass = first !== undefined && first.reason !== m.reason;
      const [kind, strength] = key.split(' ') as [string, string];
      const nf = noFace(kind, strength);
      const label = `${key}${first?.clearly ? ' *' : ''}${shouldPass ? ' (should pass)' : ''}`;
      out(`  ${pad(label, 34)} ${both(rs, m.reason)}${nf ? `   [${nf} more: no single face]` : ''}`);
    }
    const clearly = deg.filter((r) => r.row.clearly && r.row.reason === m.reason);
    const kc = flagged(clearly, m.reason);
    const kf = flagged(cl, m.reason);
    out(`  ${pad('clearly degraded (*) together', 34)} ${both(clearly, m.reason)}`);
    const detOk = clearly.length > 0 && kc / clearly.length >= 0.95;
    const ffOk = cl.length > 0 && kf / cl.length <= 0.05;
    summary.push(
      `  ${pad(m.reason, 18)} detection ${pad(formatRate(kc, clearly.length), 40)} ${detOk ? 'met' : 'MISSED'};  false flags ${pad(formatRate(kf, cl.length), 36)} ${ffOk ? 'met' : 'MISSED'}`,
    );
    if (m.reason === 'HEAVY_COMPRESSION') {
      // which of the two signals found it
      const byHeader = (r: Result) => {
        const q = r.breakdown.jpegQuality;
        return typeof q === 'number' && q < th.minJpegQuality;
      };
      const byPixels = (r: Result) => {
        const b = r.breakdown.blockiness;
        return typeof b === 'number' && b > th.maxBlockiness;
      };
      const measurable = (r: Result) => typeof r.breakdown.blockiness === 'number';
      for (const key of keys) {
        const rs = groups.get(key) ?? [];
        const pm = rs.filter(measurable);
        out(
          `    ${pad(key, 14)} header alone ${pad(formatRate(rs.filter(byHeader).length, rs.length), 36)} pixels alone ${formatRate(pm.filter(byPixels).length, pm.length)} (where the block grid is resolved)`,
        );
      }
      const pm = cl.filter(measurable);
      out(
        `    ${pad('clear', 14)} header alone ${pad(formatRate(cl.filter(byHeader).length, cl.length), 36)} pixels alone ${formatRate(pm.filter(byPixels).length, pm.length)}`,
      );
    }
  }
  out();
  out('== SUMMARY against the targets (all subjects; clearly degraded photos with one face)');
  for (const s of summary) out(s);

  // value distributions
  out();
  out('== VALUES (p5 / median / p95 of each measure; untouched clear photos, then each degradation of its kind)');
  const q = (rs: Result[], field: string) => {
    const xs = rs.map((r) => r.breakdown[field]).filter((v): v is number => typeof v === 'number');
    if (!xs.length) return 'n/a';
    const f = (v: number) => (Math.abs(v) >= 10 ? v.toFixed(0) : v.toFixed(2));
    return `${f(percentile(xs, 5))} / ${f(percentile(xs, 50))} / ${f(percentile(xs, 95))} (n=${xs.length})`;
  };
  for (const m of MEASURES) {
    const deg = analysed.filter((r) => m.kinds.includes(r.row.kind) && (!m.sign || m.sign(r.row)));
    const keys = [...new Set(deg.map((r) => `${r.row.kind} ${r.row.strength}`))].sort(
      (a, b) => STRENGTH_ORDER(a.split(' ')[1] ?? '') - STRENGTH_ORDER(b.split(' ')[1] ?? ''),
    );
    for (const field of m.fields) {
      out(`  ${m.reason} / ${field}`);
      out(`    ${pad('untouched clear', 18)} ${q(clear, field)}`);
      for (const key of keys) {
        const rs = deg.filter((r) => `${r.row.kind} ${r.row.strength}` === key);
        out(`    ${pad(key, 18)} ${q(rs, field)}`);
      }
    }
  }
  out(`  dynamicRangeBits (no reason): clear ${q(clear, 'dynamicRangeBits')}`);
  out(`  contrast (no reason): clear ${q(clear, 'contrast')}`);

  // cross flags
  out();
  out('== OTHER REASONS each degradation raises (% of its photos with one face; only shares >= 5 % shown)');
  const reasonsAll = MEASURES.map((m) => m.reason);
  const kinds = [...new Set(analysed.map((r) => `${r.row.kind} ${r.row.strength}`))].sort();
  for (const key of kinds) {
    const rs = analysed.filter((r) => `${r.row.kind} ${r.row.strength}`.trim() === key.trim());
    const own = rs[0]?.row.reason;
    const parts = reasonsAll
      .filter((reason) => reason !== own)
      .map((reason) => [reason, flagged(rs, reason) / rs.length] as const)
      .filter(([, share]) => share >= 0.05)
      .map(([reason, share]) => `${reason} ${(100 * share).toFixed(0)} %`);
    out(`  ${pad(key.trim() || 'clear', 18)} ${parts.length ? parts.join(', ') : '-'}`);
  }

  // cost
  const timed = analysed.slice(WARMUP_PHOTOS);
  const wall = timed.map((r) => r.wallMs);
  const cpu = timed.map((r) => r.cpuMs);
  out();
  out(
    `== COST of the captureQuality stage per photo (after decode and faces; ${timed.length} photos, first ${WARMUP_PHOTOS} excluded as warm-up)`,
  );
  out(
    `  wall ms: median ${percentile(wall, 50).toFixed(2)}, p95 ${percentile(wall, 95).toFixed(2)}, max ${Math.max(...wall).toFixed(2)}`,
  );
  out(
    `  CPU ms:  median ${percentile(cpu, 50).toFixed(2)}, p95 ${percentile(cpu, 95).toFixed(2)} (process.cpuUsage, 1 ms-ish granularity)`,
  );
  const outFile = resolve(opts.out ?? join(repoRoot, '.eval', 'quality-latest.json'));
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(
    outFile,
    JSON.stringify({ date: new Date().toISOString(), dir, thresholds: th, report: lines, results }, null, 1),
  );
  writeFileSync(outFile.replace(/\.json$/, '.txt'), `${lines.join('\n')}\n`);
  out(`wrote ${outFile}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
