/**
 * Evaluation of the four inspections on labelled photo folders.
 *
 *   pnpm eval [folder ...] [--also FOLDER ...] [--out FILE] [--limit N]
 *
 * A folder is either
 *  - a folder with MANIFEST.tsv (columns read from its header: file, category, and some of expected_face_count,
 *    expected_obstruction, expected_orientation_ok, expected_genuine; optional attack_type, obstruction_kind,
 *    synthetic, notes; a blank label is not scored). A manifest without any label column but with an `identity`
 *    column (the identities/ set) is read as "one face per photo", except rows whose notes mention faces or people
 *    in the background (left unscored, as the other manifests do); other label-less manifests are skipped.
 *  - a masks/ layout: with_mask/ and without_mask/ sub-folders, no manifest (obstruction labels only).
 * Default folders: every sub-folder of ../shared/fixtures next to the repository (or /work/shared/fixtures) that has
 * a MANIFEST.tsv or the masks layout. A folder is synthetic when its name starts with "synth" or its rows say
 * synthetic=yes.
 *
 * Prints a headline table (every rate with a Wilson 95 % interval; the liveness curve with bootstrap intervals),
 * the same rates per source folder and per category, every miss with its signals, and the cost per photo.
 * Writes .eval/latest.json, .eval/latest.txt and .eval/<timestamp>.json, or FILE and FILE's .txt with --out.
 * --also FOLDER adds a folder to the default ones (e.g. --also .eval/synth-occlusions, the synthetic occlusions of
 * scripts/synth-occlusions.ts). --limit N evaluates only the first N images (smoke runs).
 * Compare two runs with `pnpm eval:compare A.json B.json`.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  analyzeFaces,
  createFaceEngine,
  type DetectedFace,
  decodeImage,
  type FaceEngine,
  inspectLiveness,
  inspectObstruction,
  inspectOrientation,
  type StageInspection,
} from '../packages/face-engine/src/index.js';
import { apcerAtBpcer, bootstrap, equalErrorRate, formatRate, median, percentile, wilson } from './lib/stats.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const LABEL_COLUMNS = ['expected_face_count', 'expected_obstruction', 'expected_orientation_ok', 'expected_genuine'];
const BOOTSTRAP_ROUNDS = 2000;
const BOOTSTRAP_SEED = 20261;
const WARMUP_PHOTOS = 3;
const BPCER_TARGETS = [0.01, 0.05, 0.1];

interface Item {
  file: string;
  rel: string;
  set: string;
  category: string;
  faceCount: number | null;
  obstruction: boolean | null;
  /** For obstructed photos: a mask/face covering, or any other obstruction (sunglasses, hand, hair ...). */
  obstructionKind: 'mask' | 'other' | null;
  orientationOk: boolean | null;
  genuine: boolean | null;
  attackType: string | null;
  synthetic: boolean;
  /** The photo comes from the masks/ layout (with_mask / without_mask). */
  maskLayout: boolean;
}

interface Outcome {
  item: Item;
  /** Processing order (0-based), for the warm-up exclusion. */
  order: number;
  error?: string;
  faceCount: number;
  faces: StageInspection;
  obstruction: StageInspection | null;
  orientation: StageInspection | null;
  liveness: StageInspection | null;
  livenessScore: number | null;
  ms: { decode: number; faces: number; obstruction: number; orientation: number; liveness: number; total: number };
}

// ---- report rows (also read by scripts/eval-compare.ts) ----

/** A proportion k/n with its Wilson 95 % interval (rates 0..1). */
export interface RateRow {
  kind: 'rate';
  id: string;
  label: string;
  k: number;
  n: number;
  rate: number | null;
  lo: number;
  hi: number;
  /** true when a lower rate is better (false flags, errors). */
  lowerIsBetter?: boolean;
  /** Files behind k, when the row must be read file by file (e.g. no-face photos that got a face). */
  files?: string[];
}
/** A statistic with a percentile-bootstrap 95 % interval (rates 0..1), e.g. APCER at BPCER 5 %. */
export interface BootRow {
  kind: 'boot';
  id: string;
  label: string;
  value: number | null;
  lo: number | null;
  hi: number | null;
  n: string;
  threshold?: number | null;
  note?: string;
  lowerIsBetter?: boolean;
}
/** A time in milliseconds with a bootstrap 95 % interval. */
export interface MsRow {
  kind: 'ms';
  id: string;
  label: string;
  value: number | null;
  lo: number | null;
  hi: number | null;
  n: number;
}
/** A plain number (e.g. peak RSS in MB). */
export interface ValueRow {
  kind: 'value';
  id: string;
  label: string;
  value: number | null;
  unit: string;
}
export type Row = RateRow | BootRow | MsRow | ValueRow;

export interface EvalReport {
  date: string;
  engine: unknown;
  thresholds: unknown;
  folders: string[];
  limit: number | null;
  images: number;
  machine: { cores: number; loadAtStart: number[]; loadAtEnd: number[]; wallSeconds: number };
  headline: Row[];
  perFolder: Record<string, Row[]>;
  perCategory: Record<string, Row[]>;
  cost: Record<string, unknown>;
  results: unknown[];
}

const yesNo = (v: string | undefined): boolean | null => {
  const s = (v ?? '').trim().toLowerCase();
  if (s === 'yes' || s === 'true' || s === '1') return true;
  if (s === 'no' || s === 'false' || s === '0') return false;
  return null;
};

function inferAttackType(row: Record<string, string>, genuine: boolean | null): string | null {
  if (genuine !== false) return null;
  const explicit = (row.attack_type ?? '').trim().toLowerCase();
  if (explicit && explicit !== 'none') return explicit;
  if ('attack_type' in row) return 'unknown';
  const notes = (row.notes ?? '').toLowerCase();
  if (/print/.test(notes)) return 'print';
  if (/replay|screen|tablet|phone/.test(notes)) return 'screen';
  if (/mannequin|mask|head/.test(notes)) return 'mask';
  if (/synthetic|computer-generated/.test(notes)) return 'synthetic';
  return 'unknown';
}

const MASK_WORDS = /\bmasks?\b|face covering|balaclava|niqab|respirator|\bkf94\b|\bn95\b|\bffp2\b/i;

/** Mask vs other obstruction, from obstruction_kind when present, else the notes; null when not obstructed. */
function inferObstructionKind(row: Record<string, string>, obstructed: boolean | null): 'mask' | 'other' | null {
  if (obstructed !== true) return null;
  const kind = (row.obstruction_kind ?? '').trim();
  // "surgical_mask", "cloth-mask": underscores and hyphens count as word breaks
  return MASK_WORDS.test((kind || (row.notes ?? '')).replace(/[_-]+/g, ' ')) ? 'mask' : 'other';
}

const BACKGROUND_FACES = /background (faces?|person|people|persons)|(faces?|person|people) in the background/i;

function readManifest(dir: string): { header: string[]; rows: Record<string, string>[] } {
  const lines = readFileSync(join(dir, 'MANIFEST.tsv'), 'utf8')
    .split(/\r?\n/)
    .filter((l) => l.trim().length > 0);
  const header = (lines.shift() ?? '').split('\t').map((h) => h.trim());
  const rows = lines.map((line) => {
    const cells = line.split('\t');
    const row: Record<string, string> = {};
    header.forEach((h, i) => {
      row[h] = cells[i] ?? '';
    });
    return row;
  });
  return { header, rows };
}

/** Items of a folder, plus a note when its labels were inferred rather than read. */
function loadFolder(dir: string): { items: Item[]; note?: string } {
  const set = basename(dir);
  const synthName = /^synth/i.test(set);
  if (existsSync(join(dir, 'MANIFEST.tsv'))) {
    const { header, rows } = readManifest(dir);
    const hasLabels = LABEL_COLUMNS.some((c) => header.includes(c));
    const identityDefault = !hasLabels && header.includes('identity');
    if (!hasLabels && !identityDefault) return { items: [], note: `${set}: MANIFEST.tsv has no label column, skipped` };
    let unscored = 0;
    const items = rows.map((row) => {
      const rel = row.file ?? '';
      let faceCount: number | null;
      if (identityDefault) {
        const background = BACKGROUND_FACES.test(row.notes ?? '');
        if (background) unscored++;
        faceCount = background ? null : 1;
      } else {
        const count = (row.expected_face_count ?? '').trim();
        faceCount = count === '' ? null : Number(count);
      }
      const genuine = yesNo(row.expected_genuine);
      const obstruction = yesNo(row.expected_obstruction);
      return {
        file: join(dir, rel),
        rel,
        set,
        category: (row.category ?? '').trim() || (dirname(rel) === '.' ? set : dirname(rel)),
        faceCount,
        obstruction,
        obstructionKind: inferObstructionKind(row, obstruction),
        orientationOk: yesNo(row.expected_orientation_ok),
        genuine,
        attackType: inferAttackType(row, genuine),
        synthetic: synthName || yesNo(row.synthetic) === true,
        maskLayout: false,
      };
    });
    const note = identityDefault
      ? `${set}: no label columns; expected_face_count 1 assumed for every photo (identity manifest), ` +
        `${unscored} with faces/people in the background left unscored; no other stage scored`
      : undefined;
    return note ? { items, note } : { items };
  }
  const items: Item[] = [];
  for (const [sub, obstructed] of [
    ['with_mask', true],
    ['without_mask', false],
  ] as const) {
    const d = join(dir, sub);
    if (!existsSync(d)) continue;
    for (const f of readdirSync(d).sort()) {
      if (!/\.(jpe?g|png|webp)$/i.test(f)) continue;
      items.push({
        file: join(d, f),
        rel: `${sub}/${f}`,
        set,
        category: sub,
        faceCount: null,
        obstruction: obstructed,
        obstructionKind: obstructed ? 'mask' : null,
        orientationOk: null,
        genuine: null,
        attackType: null,
        synthetic: synthName,
        maskLayout: true,
      });
    }
  }
  if (items.length === 0) throw new Error(`${dir}: no MANIFEST.tsv and no with_mask/without_mask folders`);
  return { items };
}

const isEvalFolder = (dir: string) =>
  existsSync(join(dir, 'MANIFEST.tsv')) || existsSync(join(dir, 'with_mask')) || existsSync(join(dir, 'without_mask'));

function defaultFolders(): string[] {
  const base = [join(repoRoot, '..', 'shared', 'fixtures'), '/work/shared/fixtures'].find((p) => existsSync(p));
  if (!base) throw new Error('no folders given and ../shared/fixtures not found');
  return readdirSync(base)
    .sort()
    .map((f) => join(base, f))
    .filter((p) => statSync(p).isDirectory() && isEvalFolder(p));
}

async function runOne(engine: FaceEngine, item: Item, order: number): Promise<Outcome> {
  const t0 = performance.now();
  const ms = { decode: 0, faces: 0, obstruction: 0, orientation: 0, liveness: 0, total: 0 };
  const image = await decodeImage(readFileSync(item.file));
  ms.decode = Math.round(performance.now() - t0);
  const faces = await analyzeFaces(engine, image);
  ms.faces = faces.ms;
  // Stages 2-4 run on the largest face whenever there is at least one, so that every label can be scored; the
  // product runs them only on photos with exactly one face.
  const face: DetectedFace | undefined = faces.faces[0];
  let obstruction: StageInspection | null = null;
  let orientation: StageInspection | null = null;
  let liveness: StageInspection | null = null;
  if (face) {
    const o = await inspectObstruction(engine, image, face);
    obstruction = o.inspection;
    ms.obstruction = o.ms;
    const r = await inspectOrientation(engine, image, face);
    orientation = r.inspection;
    ms.orientation = r.ms;
    const l = await inspectLiveness(engine, image, face);
    liveness = l.inspection;
    ms.liveness = l.ms;
  }
  ms.total = Math.round(performance.now() - t0);
  const score = (liveness?.breakdown as { livenessCheckScore?: unknown } | undefined)?.livenessCheckScore;
  return {
    item,
    order,
    faceCount: faces.faces.length,
    faces: faces.inspection,
    obstruction,
    orientation,
    liveness,
    livenessScore: typeof score === 'number' && Number.isFinite(score) ? score : null,
    ms,
  };
}

// ---- scoring ----

const nameOf = (o: Outcome) => `${o.item.set}/${o.item.rel}`;
const flagged = (o: Outcome) => o.obstruction?.result === 'attention';
const liveAccepted = (o: Outcome) => o.liveness?.result === 'clear';

function rateRow(
  id: string,
  label: string,
  sel: Outcome[],
  hit: (o: Outcome) => boolean,
  opts: { lowerIsBetter?: boolean; listFiles?: boolean } = {},
): RateRow {
  const hits = sel.filter(hit);
  const { lo, hi } = wilson(hits.length, sel.length);
  const row: RateRow = {
    kind: 'rate',
    id,
    label,
    k: hits.length,
    n: sel.length,
    rate: sel.length ? hits.length / sel.length : null,
    lo,
    hi,
  };
  if (opts.lowerIsBetter) row.lowerIsBetter = true;
  if (opts.listFiles) row.files = hits.map(nameOf);
  return row;
}

const faceLabelled = (os: Outcome[]) => os.filter((o) => o.item.faceCount !== null);
const obstructed = (os: Outcome[]) => os.filter((o) => o.item.obstruction === true);
const unobstructed = (os: Outcome[]) => os.filter((o) => o.item.obstruction === false);
/** Liveness is scored only where the stage ran (a face was found): detection misses are counted by the face rows. */
const attacksScored = (os: Outcome[]) => os.filter((o) => o.item.genuine === false && o.liveness !== null);
const genuineScored = (os: Outcome[]) => os.filter((o) => o.item.genuine === true && o.liveness !== null);

/** The rates of the headline, on any subset of outcomes (rows with n = 0 are dropped unless keepEmpty). */
function rateRows(os: Outcome[], keepEmpty: boolean): RateRow[] {
  const rows: RateRow[] = [];
  const add = (r: RateRow) => {
    if (keepEmpty || r.n > 0) rows.push(r);
  };
  add(rateRow('faces.exact', 'Exact face count', faceLabelled(os), (o) => o.faceCount === o.item.faceCount));
  add(
    rateRow(
      'faces.nofaceGotFace',
      'Photos without a face that got >=1 face (must be 0)',
      os.filter((o) => o.item.faceCount === 0),
      (o) => o.faceCount > 0,
      { lowerIsBetter: true, listFiles: true },
    ),
  );
  const pos = obstructed(os);
  const neg = unobstructed(os);
  /** Two sub-rows splitting a parent row; without keepEmpty they are shown only when both halves have photos. */
  const split = (
    sel: Outcome[],
    lowerIsBetter: boolean,
    parts: [id: string, label: string, (o: Outcome) => boolean][],
  ) => {
    const sub = parts.map(([id, label, inPart]) =>
      rateRow(id, label, sel.filter(inPart), flagged, lowerIsBetter ? { lowerIsBetter } : {}),
    );
    if (keepEmpty || sub.every((r) => r.n > 0)) rows.push(...sub);
  };
  add(rateRow('obstruction.found', 'Obstruction found (obstructed photos flagged)', pos, flagged));
  split(pos, false, [
    ['obstruction.found.mask', '  masks', (o) => o.item.obstructionKind === 'mask'],
    ['obstruction.found.other', '  non-mask obstructions', (o) => o.item.obstructionKind !== 'mask'],
  ]);
  split(pos, false, [
    ['obstruction.found.real', '  real photos', (o) => !o.item.synthetic],
    ['obstruction.found.synthetic', '  synthetic photos', (o) => o.item.synthetic],
  ]);
  add(
    rateRow('obstruction.falseFlags', 'Obstruction false flags (clear photos flagged)', neg, flagged, {
      lowerIsBetter: true,
    }),
  );
  split(neg, true, [
    ['obstruction.falseFlags.maskLayout', '  mask-dataset clear photos (without_mask)', (o) => o.item.maskLayout],
    ['obstruction.falseFlags.other', '  other clear photos', (o) => !o.item.maskLayout],
  ]);
  split(neg, true, [
    ['obstruction.falseFlags.real', '  real photos', (o) => !o.item.synthetic],
    ['obstruction.falseFlags.synthetic', '  synthetic photos', (o) => o.item.synthetic],
  ]);
  add(
    rateRow(
      'orientation.accuracy',
      'Orientation accuracy',
      os.filter((o) => o.item.orientationOk !== null),
      (o) => (o.orientation?.result === 'clear') === o.item.orientationOk,
    ),
  );
  const attacks = attacksScored(os);
  add(rateRow('liveness.caught', 'Liveness: attacks caught (1 - APCER)', attacks, (o) => !liveAccepted(o)));
  const types = [...new Set(attacks.map((o) => o.item.attackType ?? 'unknown'))].sort();
  for (const t of types)
    add(
      rateRow(
        `liveness.caught.${t}`,
        `  ${t}`,
        attacks.filter((o) => (o.item.attackType ?? 'unknown') === t),
        (o) => !liveAccepted(o),
      ),
    );
  add(rateRow('liveness.passed', 'Liveness: genuine passed (1 - BPCER)', genuineScored(os), liveAccepted));
  return rows;
}

/** APCER at BPCER 1/5/10 % and the EER from livenessCheckScore, with bootstrap intervals. */
function curveRows(os: Outcome[]): BootRow[] {
  const a = attacksScored(os)
    .map((o) => o.livenessScore)
    .filter((s): s is number => s !== null);
  const g = genuineScored(os)
    .map((o) => o.livenessScore)
    .filter((s): s is number => s !== null);
  const n = `${a.length} attacks / ${g.length} genuine`;
  const stat = (groups: number[][]) => {
    const [aa, gg] = groups as [number[], number[]];
    const out: Record<string, number> = {};
    for (const t of BPCER_TARGETS) out[`apcer@${t}`] = apcerAtBpcer(aa, gg, t).apcer;
    out.eer = equalErrorRate(aa, gg).eer;
    return out;
  };
  const nan = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? null : x);
  const b =
    a.length && g.length ? bootstrap([a, g], stat, { rounds: BOOTSTRAP_ROUNDS, seed: BOOTSTRAP_SEED }) : undefined;
  const rows: BootRow[] = [];
  for (const t of BPCER_TARGETS) {
    const p = apcerAtBpcer(a, g, t);
    const key = `apcer@${t}`;
    rows.push({
      kind: 'boot',
      id: `liveness.apcerAtBpcer${Math.round(t * 100)}`,
      label: `Liveness curve: APCER at BPCER <= ${Math.round(t * 100)} %`,
      value: nan(p.apcer),
      lo: nan(b?.lo[key]),
      hi: nan(b?.hi[key]),
      n,
      threshold: nan(p.threshold),
      note: Number.isNaN(p.bpcer)
        ? undefined
        : `BPCER ${(100 * p.bpcer).toFixed(1)} % (budget: ${Math.floor(t * g.length + 1e-9)} of ${g.length} genuine)`,
      lowerIsBetter: true,
    });
  }
  const e = equalErrorRate(a, g);
  rows.push({
    kind: 'boot',
    id: 'liveness.eer',
    label: 'Liveness curve: EER',
    value: nan(e.eer),
    lo: nan(b?.lo.eer),
    hi: nan(b?.hi.eer),
    n,
    threshold: Number.isFinite(e.threshold) ? e.threshold : null,
    note: Number.isNaN(e.eer)
      ? undefined
      : `APCER ${(100 * e.apcer).toFixed(1)} %, BPCER ${(100 * e.bpcer).toFixed(1)} %`,
    lowerIsBetter: true,
  });
  return rows;
}

function msRow(id: string, label: string, xs: number[], p: number): MsRow {
  if (xs.length === 0) return { kind: 'ms', id, label, value: null, lo: null, hi: null, n: 0 };
  const b = bootstrap([xs], (g) => percentile(g[0] as number[], p), {
    rounds: BOOTSTRAP_ROUNDS,
    seed: BOOTSTRAP_SEED,
  });
  return { kind: 'ms', id, label, value: b.value, lo: b.lo, hi: b.hi, n: xs.length };
}

// ---- formatting ----

const pct1 = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : (100 * x).toFixed(1));

export function formatRow(r: Row): string {
  switch (r.kind) {
    case 'rate':
      return formatRate(r.k, r.n);
    case 'boot': {
      if (r.value === null) return `n/a (${r.n})`;
      const ci = r.lo === null || r.hi === null ? '' : `, 95 % CI ${pct1(r.lo)}–${pct1(r.hi)}`;
      const at = r.threshold === null || r.threshold === undefined ? '' : ` at score ${r.threshold}`;
      return `${pct1(r.value)} % (${r.n}${ci})${at}${r.note ? `, ${r.note}` : ''}`;
    }
    case 'ms': {
      if (r.value === null) return 'n/a (0 photos)';
      const ci = r.lo === null || r.hi === null ? '' : `, 95 % CI ${Math.round(r.lo)}–${Math.round(r.hi)}`;
      return `${Math.round(r.value)} ms (n=${r.n}${ci})`;
    }
    case 'value':
      return r.value === null ? 'n/a' : `${r.value} ${r.unit}`;
  }
}

const LABEL_WIDTH = 54;

async function main() {
  const { values: opts, positionals } = parseArgs({
    args: process.argv.slice(2).filter((a) => a !== '--'),
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      limit: { type: 'string' },
      also: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (opts.help) {
    console.log('usage: pnpm eval [folder ...] [--also FOLDER ...] [--out FILE.json] [--limit N]');
    return;
  }
  const limit = opts.limit === undefined ? null : Number(opts.limit);
  if (limit !== null && !(Number.isInteger(limit) && limit > 0)) throw new Error(`--limit: not a positive integer`);
  const folders = [
    ...(positionals.length ? positionals.map((f) => resolve(f)) : defaultFolders()),
    ...(opts.also ?? []).map((f) => resolve(f)),
  ];
  const loaded = folders.map((f) => loadFolder(f));
  let items = loaded.flatMap((l) => l.items);
  if (limit !== null) items = items.slice(0, limit);

  const engine = await createFaceEngine({});
  const lines: string[] = [];
  const out = (s = '') => {
    lines.push(s);
    console.log(s);
  };
  out(`engine: ${engine.info.engine}`);
  out(`backend: ${engine.info.backend}; versions: ${JSON.stringify(engine.info.versions)}`);
  out(`shipped liveness threshold (livenessMinScore): ${engine.thresholds.livenessMinScore}`);
  out(`folders: ${folders.join(', ')}  (${items.length} images${limit !== null ? `, --limit ${limit}` : ''})`);
  for (const l of loaded) if (l.note) out(`  note: ${l.note}`);
  // timings depend on what else runs on the machine: record the load next to them
  const loadText = () =>
    loadavg()
      .map((x) => x.toFixed(2))
      .join(' / ');
  const loadAtStart = loadavg();
  out(`machine: ${availableParallelism()} cores; load average (1/5/15 min) at start ${loadText()}`);

  const outcomes: Outcome[] = [];
  const tStart = performance.now();
  for (const [order, item] of items.entries()) {
    if (order > 0 && order % 50 === 0)
      process.stderr.write(`  ${order}/${items.length} images, ${Math.round((performance.now() - tStart) / 1000)} s\n`);
    const failed = (error: string): Outcome => ({
      item,
      order,
      error,
      faceCount: 0,
      faces: { result: 'not_processed', breakdown: {}, reasons: [] },
      obstruction: null,
      orientation: null,
      liveness: null,
      livenessScore: null,
      ms: { decode: 0, faces: 0, obstruction: 0, orientation: 0, liveness: 0, total: 0 },
    });
    if (!existsSync(item.file) || !statSync(item.file).isFile()) {
      outcomes.push(failed('missing file'));
      continue;
    }
    try {
      outcomes.push(await runOne(engine, item, order));
    } catch (err) {
      outcomes.push(failed((err as Error).message));
    }
  }

  // ---- headline ----
  const headline: Row[] = [...rateRows(outcomes, true)];
  // The mask probe (old engine) was trained on part of masks/: the honest obstruction figure uses only photos it
  // never saw.
  const probeFile = join(repoRoot, 'packages', 'face-engine', 'models', 'mask-probe.json');
  if (existsSync(probeFile)) {
    const training = (JSON.parse(readFileSync(probeFile, 'utf8')) as { training?: { trainedOn?: string[] } }).training;
    const trainedOn = new Set(training?.trainedOn ?? []);
    if (trainedOn.size) {
      const unseen = outcomes.filter((o) => !(o.item.maskLayout && trainedOn.has(o.item.rel)));
      const at = headline.findIndex((r) => r.id === 'orientation.accuracy');
      headline.splice(
        at < 0 ? headline.length : at,
        0,
        rateRow(
          'obstruction.found.unseenByProbe',
          `  found, photos the mask probe never saw (${trainedOn.size} excl.)`,
          obstructed(unseen),
          flagged,
        ),
        rateRow(
          'obstruction.falseFlags.unseenByProbe',
          '  false flags, photos the mask probe never saw',
          unobstructed(unseen),
          flagged,
          { lowerIsBetter: true },
        ),
      );
    }
  }
  headline.push(...curveRows(outcomes));

  // cost per photo: photos where all stages ran on one face, after the warm-up photos
  const measured = outcomes.filter((o) => !o.error && o.order >= WARMUP_PHOTOS);
  const single = measured.filter((o) => o.faceCount === 1);
  const costRows: Row[] = [
    msRow(
      'cost.single.median',
      'Cost per single-face photo: median total',
      single.map((o) => o.ms.total),
      50,
    ),
    msRow(
      'cost.single.p95',
      'Cost per single-face photo: p95 total',
      single.map((o) => o.ms.total),
      95,
    ),
    msRow(
      'cost.all.median',
      'Cost per photo (all photos): median total',
      measured.map((o) => o.ms.total),
      50,
    ),
  ];
  headline.push(...costRows);

  out('');
  out(
    `== HEADLINE (rates: Wilson 95 % CI; curve and times: percentile bootstrap, ${BOOTSTRAP_ROUNDS} rounds, seed ${BOOTSTRAP_SEED})`,
  );
  for (const r of headline) out(`${r.label.padEnd(LABEL_WIDTH)} ${formatRow(r)}`);
  const noface = headline.find((r) => r.id === 'faces.nofaceGotFace') as RateRow | undefined;
  if (noface?.files?.length) {
    out('  photos without a face that got a face:');
    for (const f of noface.files) {
      const o = outcomes.find((x) => nameOf(x) === f);
      out(`   - ${f}: ${o?.faceCount ?? '?'} face(s)`);
    }
  }
  const attacks = outcomes.filter((o) => o.item.genuine === false);
  const genuine = outcomes.filter((o) => o.item.genuine === true);
  const unscoredLive = [...attacks, ...genuine].filter((o) => o.liveness === null);
  out(
    `  liveness set: attacks and genuine = expected_genuine no / yes in any folder; ` +
      `${attacks.length - attacksScored(outcomes).length} attacks and ${genuine.length - genuineScored(outcomes).length} genuine ` +
      `not scored (no face found)`,
  );
  for (const o of unscoredLive)
    out(`   - not scored: ${nameOf(o)} (${o.item.genuine ? 'genuine' : 'attack'})${o.error ? ` ${o.error}` : ''}`);
  out(
    `  curve thresholds are livenessCheckScore values (accepted as live when score >= threshold); ` +
      `shipped threshold ${engine.thresholds.livenessMinScore}`,
  );

  // ---- per source folder ----
  const sets = [...new Set(outcomes.map((o) => o.item.set))];
  const perFolder: Record<string, Row[]> = {};
  out('');
  out('== PER SOURCE FOLDER');
  for (const set of sets) {
    const os = outcomes.filter((o) => o.item.set === set);
    const synth = os.some((o) => o.item.synthetic) ? ', synthetic' : '';
    const rows: Row[] = rateRows(os, false);
    const singleHere = single.filter((o) => o.item.set === set);
    if (singleHere.length)
      rows.push(
        msRow(
          'cost.single.median',
          'Cost per single-face photo: median total',
          singleHere.map((o) => o.ms.total),
          50,
        ),
      );
    perFolder[set] = rows;
    out(`${set} (${os.length} images${synth})`);
    for (const r of rows) out(`  ${r.label.padEnd(LABEL_WIDTH - 2)} ${formatRow(r)}`);
  }

  // ---- per category, per stage, with every miss ----
  const catKey = (o: Outcome) => `${o.item.set}/${o.item.category}`;
  const cats = [...new Set(outcomes.map(catKey))];
  const perCategory: Record<string, Row[]> = {};
  for (const c of cats)
    perCategory[c] = rateRows(
      outcomes.filter((o) => catKey(o) === c),
      false,
    );

  type StageName = 'faces' | 'obstruction' | 'orientation';
  const stageTitles: Record<StageName, string> = {
    faces: 'FACES (exact count)',
    obstruction: 'OBSTRUCTION',
    orientation: 'ORIENTATION',
  };
  const scored: Record<StageName, (o: Outcome) => boolean> = {
    faces: (o) => o.item.faceCount !== null,
    obstruction: (o) => o.item.obstruction !== null,
    orientation: (o) => o.item.orientationOk !== null,
  };
  const correct: Record<StageName, (o: Outcome) => boolean> = {
    faces: (o) => o.faceCount === o.item.faceCount,
    obstruction: (o) => o.obstruction !== null && flagged(o) === o.item.obstruction,
    orientation: (o) => (o.orientation?.result === 'clear') === o.item.orientationOk,
  };
  // "clear" as the stage answers it and as the label expects it, for false accepts / false rejects
  const gotClear: Record<StageName, (o: Outcome) => boolean> = {
    faces: (o) => o.faces.result === 'clear',
    obstruction: (o) => o.obstruction?.result === 'clear',
    orientation: (o) => o.orientation?.result === 'clear',
  };
  const expectClear: Record<StageName, (o: Outcome) => boolean> = {
    faces: (o) => o.item.faceCount === 1,
    obstruction: (o) => o.item.obstruction === false,
    orientation: (o) => o.item.orientationOk === true,
  };
  const missText: Record<StageName, (o: Outcome) => string> = {
    faces: (o) => `expected ${o.item.faceCount} faces, got ${o.faceCount}${o.error ? ` (${o.error})` : ''}`,
    obstruction: (o) =>
      `expected ${o.item.obstruction ? `obstructed (${o.item.obstructionKind})` : 'clear'}, got ${
        o.obstruction
          ? `${o.obstruction.result} ${JSON.stringify(o.obstruction.reasons)} ${JSON.stringify((o.obstruction.breakdown as { signals?: unknown }).signals ?? {})}`
          : `no face${o.error ? ` (${o.error})` : ''}`
      }`,
    orientation: (o) =>
      `expected ${o.item.orientationOk ? 'ok' : 'not ok'}, got ${
        o.orientation
          ? `${o.orientation.result} ${JSON.stringify(o.orientation.reasons)} ${JSON.stringify(o.orientation.breakdown)}`
          : 'no face (not processed)'
      }`,
  };
  const catWidth = Math.max(28, ...cats.map((c) => c.length + 1));
  for (const stage of ['faces', 'obstruction', 'orientation'] as StageName[]) {
    out('');
    out(`== ${stageTitles[stage]} per category`);
    out(`${'category'.padEnd(catWidth)} ${'accuracy'.padEnd(38)} ${'falseAcc'.padStart(8)} ${'falseRej'.padStart(8)}`);
    const misses: string[] = [];
    for (const c of [...cats, 'ALL']) {
      const sel = outcomes.filter((o) => scored[stage](o) && (c === 'ALL' || catKey(o) === c));
      if (sel.length === 0) continue;
      const ok = sel.filter(correct[stage]);
      const fa = sel.filter((o) => !correct[stage](o) && gotClear[stage](o) && !expectClear[stage](o)).length;
      const fr = sel.filter((o) => !correct[stage](o) && !gotClear[stage](o) && expectClear[stage](o)).length;
      out(
        `${c.padEnd(catWidth)} ${formatRate(ok.length, sel.length).padEnd(38)} ${String(fa).padStart(8)} ${String(fr).padStart(8)}`,
      );
      if (c !== 'ALL') for (const o of sel) if (!correct[stage](o)) misses.push(`${nameOf(o)}: ${missText[stage](o)}`);
    }
    if (misses.length) {
      out('  misses:');
      for (const x of misses) out(`   - ${x}`);
    }
  }

  // ---- liveness per category and misses ----
  out('');
  out(`== LIVENESS per category (shipped threshold ${engine.thresholds.livenessMinScore})`);
  for (const c of cats) {
    const os = outcomes.filter((o) => catKey(o) === c);
    const a = attacksScored(os);
    const g = genuineScored(os);
    if (!a.length && !g.length) continue;
    const parts: string[] = [];
    if (a.length) parts.push(`attacks caught ${formatRate(a.filter((o) => !liveAccepted(o)).length, a.length)}`);
    if (g.length) parts.push(`genuine passed ${formatRate(g.filter(liveAccepted).length, g.length)}`);
    out(`${c.padEnd(catWidth)} ${parts.join('; ')}`);
  }
  const scoreOf = (o: Outcome) => (o.liveness ? JSON.stringify(o.liveness.breakdown) : 'no face');
  const lmiss = [
    ...attacksScored(outcomes)
      .filter(liveAccepted)
      .map((o) => `attack accepted: ${nameOf(o)} [${o.item.attackType}] ${scoreOf(o)}`),
    ...genuineScored(outcomes)
      .filter((o) => !liveAccepted(o))
      .map((o) => `genuine rejected: ${nameOf(o)} ${scoreOf(o)}`),
  ];
  if (lmiss.length) {
    out('  misses:');
    for (const x of lmiss) out(`   - ${x}`);
  }

  // ---- cost ----
  out('');
  out(
    `== COST PER PHOTO (ms; first ${WARMUP_PHOTOS} photos excluded as warm-up; "single-face" = exactly one face ` +
      'found, so all four stages ran)',
  );
  const keys = ['decode', 'faces', 'obstruction', 'orientation', 'liveness', 'total'] as const;
  out(`${'photos'.padEnd(30)} ${keys.map((k) => k.padStart(11)).join(' ')} ${'p95 total'.padStart(10)}`);
  const cost: Record<string, unknown> = {};
  for (const [label, sel] of [
    ['all photos', measured],
    ['single-face photos', single],
  ] as const) {
    const row = keys.map((k) => (sel.length ? median(sel.map((o) => o.ms[k])) : Number.NaN));
    const p95 = sel.length
      ? percentile(
          sel.map((o) => o.ms.total),
          95,
        )
      : Number.NaN;
    out(
      `${`${label} (n=${sel.length})`.padEnd(30)} ${row.map((v) => String(Math.round(v)).padStart(11)).join(' ')} ${String(Math.round(p95)).padStart(10)}`,
    );
    cost[label] = { n: sel.length, median: Object.fromEntries(keys.map((k, i) => [k, row[i]])), p95Total: p95 };
  }
  for (const r of costRows) out(`${r.label.padEnd(LABEL_WIDTH)} ${formatRow(r)}`);

  const errors = outcomes.filter((o) => o.error);
  if (errors.length) {
    out('');
    out('errors:');
    for (const e of errors) out(`  ${e.item.file}: ${e.error}`);
  }
  await engine.dispose();

  // maxRSS is in kilobytes
  const peakRssMB = Math.round(process.resourceUsage().maxRSS / 1024);
  const rssRow: ValueRow = {
    kind: 'value',
    id: 'cost.peakRss',
    label: 'Peak RSS of the eval process',
    value: peakRssMB,
    unit: 'MB',
  };
  headline.push(rssRow);
  out('');
  out(`${rssRow.label.padEnd(LABEL_WIDTH)} ${formatRow(rssRow)}`);
  out(`wall time: ${Math.round((performance.now() - tStart) / 1000)} s for ${outcomes.length} images`);
  out(
    `load average (1/5/15 min) at end ${loadText()} (timings are only comparable between runs on an equally quiet machine)`,
  );

  const report: EvalReport = {
    date: new Date().toISOString(),
    engine: engine.info,
    thresholds: engine.thresholds,
    folders,
    limit,
    images: outcomes.length,
    machine: {
      cores: availableParallelism(),
      loadAtStart,
      loadAtEnd: loadavg(),
      wallSeconds: Math.round((performance.now() - tStart) / 1000),
    },
    headline,
    perFolder,
    perCategory,
    cost,
    results: outcomes.map((o) => ({
      file: nameOf(o),
      labels: o.item,
      error: o.error,
      faceCount: o.faceCount,
      faces: o.faces,
      obstruction: o.obstruction,
      orientation: o.orientation,
      liveness: o.liveness,
      livenessScore: o.livenessScore,
      ms: o.ms,
    })),
  };
  const json = JSON.stringify(report, null, 1);
  const text = `${lines.join('\n')}\n`;
  if (opts.out) {
    const file = resolve(opts.out);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, json);
    const txt = `${file.replace(/\.json$/i, '')}.txt`;
    writeFileSync(txt, text);
    console.log(`wrote ${file} and ${txt}`);
  } else {
    const dir = join(repoRoot, '.eval');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'latest.json'), json);
    writeFileSync(join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`), json);
    writeFileSync(join(dir, 'latest.txt'), text);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
