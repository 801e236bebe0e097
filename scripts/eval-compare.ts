/**
 * Side-by-side comparison of two evaluation runs (e.g. old engine vs new engine).
 *
 *   pnpm eval:compare A.json B.json [--folders]
 *
 * Prints the headline rows of both runs (A | B) with their 95 % intervals, and the difference B - A in points.
 * A "*" marks rows whose two intervals do not overlap (a conservative sign that the difference is not noise); rows
 * whose n differs between runs were measured on different photos and are marked "(n differs)". --folders adds the
 * per-source-folder rows.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { EvalReport, Row } from './eval.js';
import { formatRate } from './lib/stats.js';

const { values: opts, positionals } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  allowPositionals: true,
  options: { folders: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
});
if (opts.help || positionals.length !== 2) {
  console.log('usage: pnpm eval:compare A.json B.json [--folders]');
  process.exit(opts.help ? 0 : 2);
}
const [fileA, fileB] = positionals as [string, string];
const load = (f: string) => JSON.parse(readFileSync(f, 'utf8')) as EvalReport;
const A = load(fileA);
const B = load(fileB);

const pct1 = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : (100 * x).toFixed(1));

/** The figure of a row, compact enough for two columns. */
function cell(r: Row | undefined): string {
  if (!r) return '—';
  switch (r.kind) {
    case 'rate':
      return formatRate(r.k, r.n);
    case 'boot': {
      if (r.value === null) return 'n/a';
      const ci = r.lo === null || r.hi === null ? '' : ` (CI ${pct1(r.lo)}–${pct1(r.hi)})`;
      const t = r.threshold === null || r.threshold === undefined ? '' : ` @${r.threshold}`;
      return `${pct1(r.value)} %${ci}${t}`;
    }
    case 'ms':
      if (r.value === null) return 'n/a';
      return `${Math.round(r.value)} ms${r.lo === null || r.hi === null ? '' : ` (CI ${Math.round(r.lo)}–${Math.round(r.hi)})`}`;
    case 'value':
      return r.value === null ? 'n/a' : `${r.value} ${r.unit}`;
  }
}

const figureOf = (r: Row | undefined): number | null => {
  if (!r) return null;
  if (r.kind === 'rate') return r.rate;
  return r.value;
};
const intervalOf = (r: Row | undefined): [number, number] | null => {
  if (!r || r.kind === 'value' || r.lo === null || r.hi === null) return null;
  return [r.lo, r.hi];
};
const sizeOf = (r: Row | undefined): string | null => {
  if (!r) return null;
  if (r.kind === 'rate' || r.kind === 'ms') return String(r.n);
  if (r.kind === 'boot') return r.n;
  return null;
};

function diff(a: Row | undefined, b: Row | undefined): string {
  const va = figureOf(a);
  const vb = figureOf(b);
  if (va === null || vb === null || !a || !b) return '';
  const d = vb - va;
  const sign = d >= 0 ? '+' : '';
  const text =
    a.kind === 'ms'
      ? `${sign}${Math.round(d)} ms`
      : a.kind === 'value'
        ? `${sign}${Math.round(d)} ${a.unit}`
        : `${sign}${(100 * d).toFixed(1)} pt`;
  const ia = intervalOf(a);
  const ib = intervalOf(b);
  const disjoint = ia && ib && (ia[1] < ib[0] || ib[1] < ia[0]) ? ' *' : '';
  const nDiffers = sizeOf(a) !== sizeOf(b) ? ' (n differs)' : '';
  return `${text}${disjoint}${nDiffers}`;
}

function table(title: string, rowsA: Row[], rowsB: Row[]) {
  const ids = [...rowsA.map((r) => r.id)];
  for (const r of rowsB) if (!ids.includes(r.id)) ids.push(r.id);
  const byId = (rows: Row[]) => new Map(rows.map((r) => [r.id, r]));
  const a = byId(rowsA);
  const b = byId(rowsB);
  const lines = ids.map((id) => {
    const ra = a.get(id);
    const rb = b.get(id);
    return [(ra ?? rb)?.label ?? id, cell(ra), cell(rb), diff(ra, rb)] as const;
  });
  const w0 = Math.max(10, ...lines.map((l) => l[0].length));
  const w1 = Math.max(1, ...lines.map((l) => l[1].length));
  const w2 = Math.max(1, ...lines.map((l) => l[2].length));
  console.log('');
  console.log(`== ${title}`);
  console.log(`${''.padEnd(w0)} | ${'A'.padEnd(w1)} | ${'B'.padEnd(w2)} | B - A`);
  for (const l of lines) console.log(`${l[0].padEnd(w0)} | ${l[1].padEnd(w1)} | ${l[2].padEnd(w2)} | ${l[3]}`);
}

const describe = (r: EvalReport) => {
  const e = r.engine as { engine?: string; backend?: string } | undefined;
  const m = r.machine
    ? `; load ${r.machine.loadAtStart[0]?.toFixed(2)}→${r.machine.loadAtEnd[0]?.toFixed(2)} on ${r.machine.cores} cores`
    : '';
  return `${e?.engine ?? '?'}; backend ${e?.backend ?? '?'}; ${r.images} images, ${r.date}${r.limit ? `, --limit ${r.limit}` : ''}${m}`;
};
console.log(`A: ${fileA}: ${describe(A)}`);
console.log(`B: ${fileB}: ${describe(B)}`);
table(
  'HEADLINE (rates: Wilson 95 % CI; curve and times: bootstrap 95 % CI; * = intervals do not overlap)',
  A.headline,
  B.headline,
);
console.log(
  'times and memory depend on the machine load of each run (shown above): compare them only between quiet runs',
);
if (opts.folders) {
  const sets = Object.keys(A.perFolder ?? {});
  for (const s of Object.keys(B.perFolder ?? {})) if (!sets.includes(s)) sets.push(s);
  for (const s of sets) table(`folder ${s}`, A.perFolder?.[s] ?? [], B.perFolder?.[s] ?? []);
}
