/**
 * Evaluation of the four inspections on labelled photo folders.
 *
 *   pnpm eval [folder ...]
 *
 * A folder is either
 *  - a folder with MANIFEST.tsv (columns read from its header: file, category, expected_face_count,
 *    expected_obstruction, expected_orientation_ok, expected_genuine, optional attack_type, notes; a blank label
 *    is not scored), or
 *  - a masks/ layout: with_mask/ and without_mask/ sub-folders, no manifest (obstruction labels only).
 * Default folders: ../shared/fixtures/{faces,spoofs-research,masks} next to the repository (or /work/shared).
 *
 * Prints per stage and category: accuracy, false accepts (answered clear, expected attention), false rejects
 * (answered attention, expected clear), every miss, median ms per stage, and liveness APCER/BPCER overall and
 * per attack type. Writes .eval/latest.json (and .eval/<timestamp>.json).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
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

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

interface Item {
  file: string;
  rel: string;
  set: string;
  category: string;
  faceCount: number | null;
  obstruction: boolean | null;
  orientationOk: boolean | null;
  genuine: boolean | null;
  attackType: string | null;
}

interface Outcome {
  item: Item;
  error?: string;
  faceCount: number;
  faces: StageInspection;
  obstruction: StageInspection | null;
  orientation: StageInspection | null;
  liveness: StageInspection | null;
  ms: { decode: number; faces: number; obstruction: number; orientation: number; liveness: number; total: number };
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

function loadFolder(dir: string): Item[] {
  const set = basename(dir);
  const manifest = join(dir, 'MANIFEST.tsv');
  if (existsSync(manifest)) {
    const lines = readFileSync(manifest, 'utf8')
      .split(/\r?\n/)
      .filter((l) => l.trim().length > 0);
    const header = (lines.shift() ?? '').split('\t').map((h) => h.trim());
    return lines.map((line) => {
      const cells = line.split('\t');
      const row: Record<string, string> = {};
      header.forEach((h, i) => {
        row[h] = cells[i] ?? '';
      });
      const count = (row.expected_face_count ?? '').trim();
      const genuine = yesNo(row.expected_genuine);
      const rel = row.file ?? '';
      return {
        file: join(dir, rel),
        rel,
        set,
        category: row.category || dirname(rel) || set,
        faceCount: count === '' ? null : Number(count),
        obstruction: yesNo(row.expected_obstruction),
        orientationOk: yesNo(row.expected_orientation_ok),
        genuine,
        attackType: inferAttackType(row, genuine),
      };
    });
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
        category: `masks/${sub}`,
        faceCount: null,
        obstruction: obstructed,
        orientationOk: null,
        genuine: null,
        attackType: null,
      });
    }
  }
  if (items.length === 0) throw new Error(`${dir}: no MANIFEST.tsv and no with_mask/without_mask folders`);
  return items;
}

async function runOne(engine: FaceEngine, item: Item): Promise<Outcome> {
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
  return { item, faceCount: faces.faces.length, faces: faces.inspection, obstruction, orientation, liveness, ms };
}

const median = (xs: number[]) => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
};
const pct = (n: number, d: number) => (d === 0 ? '  n/a' : `${((100 * n) / d).toFixed(1).padStart(5)}%`);

interface Tally {
  n: number;
  correct: number;
  falseAccept: number;
  falseReject: number;
  misses: string[];
}
const newTally = (): Tally => ({ n: 0, correct: 0, falseAccept: 0, falseReject: 0, misses: [] });

async function main() {
  const args = process.argv.slice(2).filter((a) => a !== '--');
  let folders = args;
  if (folders.length === 0) {
    const base = [join(repoRoot, '..', 'shared', 'fixtures'), '/work/shared/fixtures'].find((p) => existsSync(p));
    if (!base) throw new Error('no folders given and ../shared/fixtures not found');
    folders = ['faces', 'spoofs-research', 'masks'].map((f) => join(base, f)).filter((p) => existsSync(p));
  }
  const items = folders.flatMap((f) => loadFolder(resolve(f)));
  const engine = await createFaceEngine({});
  const lines: string[] = [];
  const out = (s = '') => {
    lines.push(s);
    console.log(s);
  };
  out(`engine: ${engine.info.engine}`);
  out(`backend: ${engine.info.backend}; versions: ${JSON.stringify(engine.info.versions)}`);
  out(`folders: ${folders.join(', ')}  (${items.length} images)`);

  const outcomes: Outcome[] = [];
  for (const item of items) {
    if (!existsSync(item.file) || !statSync(item.file).isFile()) {
      outcomes.push({
        item,
        error: 'missing file',
        faceCount: 0,
        faces: { result: 'not_processed', breakdown: {}, reasons: [] },
        obstruction: null,
        orientation: null,
        liveness: null,
        ms: { decode: 0, faces: 0, obstruction: 0, orientation: 0, liveness: 0, total: 0 },
      });
      continue;
    }
    try {
      outcomes.push(await runOne(engine, item));
    } catch (err) {
      outcomes.push({
        item,
        error: (err as Error).message,
        faceCount: 0,
        faces: { result: 'not_processed', breakdown: {}, reasons: [] },
        obstruction: null,
        orientation: null,
        liveness: null,
        ms: { decode: 0, faces: 0, obstruction: 0, orientation: 0, liveness: 0, total: 0 },
      });
    }
  }

  // ---- scoring ----
  type StageName = 'faces' | 'obstruction' | 'orientation';
  const tallies: Record<StageName, Map<string, Tally>> = {
    faces: new Map(),
    obstruction: new Map(),
    orientation: new Map(),
  };
  const tally = (stage: StageName, cat: string) => {
    const m = tallies[stage];
    if (!m.has(cat)) m.set(cat, newTally());
    return m.get(cat) as Tally;
  };
  const record = (
    stage: StageName,
    cat: string,
    expectClear: boolean,
    gotClear: boolean,
    ok: boolean,
    miss: string,
  ) => {
    for (const c of [cat, 'ALL']) {
      const t = tally(stage, c);
      t.n++;
      if (ok) t.correct++;
      else {
        if (gotClear && !expectClear) t.falseAccept++;
        if (!gotClear && expectClear) t.falseReject++;
        if (c !== 'ALL') t.misses.push(miss);
      }
    }
  };
  let zeroOrMultiClear = 0;
  for (const o of outcomes) {
    const { item } = o;
    const name = `${item.set}/${item.rel}`;
    if (item.faceCount !== null) {
      const ok = o.faceCount === item.faceCount;
      const expectClear = item.faceCount === 1;
      const gotClear = o.faces.result === 'clear';
      if (!expectClear && gotClear) zeroOrMultiClear++;
      record(
        'faces',
        item.category,
        expectClear,
        gotClear,
        ok,
        `${name}: expected ${item.faceCount} faces, got ${o.faceCount}${o.error ? ` (${o.error})` : ''}`,
      );
    }
    if (item.obstruction !== null) {
      const flagged = o.obstruction ? o.obstruction.result === 'attention' : false;
      const ok = o.obstruction !== null && flagged === item.obstruction;
      const got = o.obstruction
        ? `${o.obstruction.result} ${JSON.stringify(o.obstruction.reasons)} ${JSON.stringify((o.obstruction.breakdown as { signals?: unknown }).signals ?? {})}`
        : 'no face';
      record(
        'obstruction',
        item.category,
        !item.obstruction,
        o.obstruction?.result === 'clear',
        ok,
        `${name}: expected ${item.obstruction ? 'obstructed' : 'clear'}, got ${got}`,
      );
    }
    if (item.orientationOk !== null) {
      const clear = o.orientation?.result === 'clear';
      const ok = clear === item.orientationOk;
      const got = o.orientation
        ? `${o.orientation.result} ${JSON.stringify(o.orientation.reasons)} ${JSON.stringify(o.orientation.breakdown)}`
        : 'no face (not processed)';
      record(
        'orientation',
        item.category,
        item.orientationOk,
        clear,
        ok,
        `${name}: expected ${item.orientationOk ? 'ok' : 'not ok'}, got ${got}`,
      );
    }
  }

  const stageTitles: Record<StageName, string> = {
    faces: 'FACES (exact count)',
    obstruction: 'OBSTRUCTION',
    orientation: 'ORIENTATION',
  };
  const summary: Record<string, unknown> = {};
  for (const stage of ['faces', 'obstruction', 'orientation'] as StageName[]) {
    out('');
    out(`== ${stageTitles[stage]}`);
    out(
      `${'category'.padEnd(28)} ${'n'.padStart(4)} ${'accuracy'.padStart(8)} ${'falseAcc'.padStart(8)} ${'falseRej'.padStart(8)}`,
    );
    const m = tallies[stage];
    const cats = [...m.keys()].filter((c) => c !== 'ALL').sort();
    cats.push('ALL');
    const s: Record<string, unknown> = {};
    for (const c of cats) {
      const t = m.get(c) as Tally;
      out(
        `${c.padEnd(28)} ${String(t.n).padStart(4)} ${pct(t.correct, t.n).padStart(8)} ${String(t.falseAccept).padStart(8)} ${String(t.falseReject).padStart(8)}`,
      );
      s[c] = {
        n: t.n,
        accuracy: t.n ? t.correct / t.n : null,
        falseAccepts: t.falseAccept,
        falseRejects: t.falseReject,
      };
    }
    summary[stage] = s;
    const misses = cats.filter((c) => c !== 'ALL').flatMap((c) => (m.get(c) as Tally).misses);
    if (misses.length) {
      out('  misses:');
      for (const x of misses) out(`   - ${x}`);
    }
  }
  if (tallies.faces.size) out(`images with 0 or >=2 expected faces that ended clear: ${zeroOrMultiClear}`);

  // obstruction target view: flagged rate on (E-obstructed + with_mask) and on (A-single + without_mask)
  const rate = (cats: string[], want: boolean) => {
    const sel = outcomes.filter((o) => cats.includes(o.item.category) && o.item.obstruction === want);
    const flagged = sel.filter((o) => o.obstruction?.result === 'attention').length;
    return { n: sel.length, flagged };
  };
  const obsPos = rate(['E-obstructed', 'masks/with_mask'], true);
  const obsNeg = rate(['A-single', 'masks/without_mask'], false);
  out('');
  out(
    `obstruction target: flagged ${obsPos.flagged}/${obsPos.n} = ${pct(obsPos.flagged, obsPos.n)} of E-obstructed+with_mask (>= 90%), ` +
      `${obsNeg.flagged}/${obsNeg.n} = ${pct(obsNeg.flagged, obsNeg.n)} of A-single+without_mask (<= 10%)`,
  );
  summary.obstructionTarget = { positives: obsPos, negatives: obsNeg };
  // The mask probe was trained on part of masks/: the honest figure uses only photos it never saw (its held-out
  // fold, listed in the probe file, plus every faces/ photo).
  const probeFile = join(repoRoot, 'packages', 'face-engine', 'models', 'mask-probe.json');
  if (existsSync(probeFile)) {
    const training = (JSON.parse(readFileSync(probeFile, 'utf8')) as { training?: { trainedOn?: string[] } }).training;
    const trainedOn = new Set(training?.trainedOn ?? []);
    const unseen = (o: Outcome) => !(o.item.set === 'masks' && trainedOn.has(o.item.rel));
    const rateUnseen = (cats: string[], want: boolean) => {
      const sel = outcomes.filter((o) => unseen(o) && cats.includes(o.item.category) && o.item.obstruction === want);
      return { n: sel.length, flagged: sel.filter((o) => o.obstruction?.result === 'attention').length };
    };
    const hp = rateUnseen(['E-obstructed', 'masks/with_mask'], true);
    const hn = rateUnseen(['A-single', 'masks/without_mask'], false);
    out(
      `  on photos the mask probe never saw (${trainedOn.size} masks/ photos excluded): flagged ${hp.flagged}/${hp.n} = ${pct(hp.flagged, hp.n)} positives, ` +
        `${hn.flagged}/${hn.n} = ${pct(hn.flagged, hn.n)} negatives`,
    );
    summary.obstructionTargetUnseen = { positives: hp, negatives: hn };
  }

  // ---- liveness ----
  const livenessSets = new Set(['A-single', 'F-spoof', 'G-spoof', 'H-genuine-counterpart']);
  const live = outcomes.filter((o) => o.item.genuine !== null && livenessSets.has(o.item.category));
  const attacks = live.filter((o) => o.item.genuine === false);
  const genuine = live.filter((o) => o.item.genuine === true);
  const accepted = (o: Outcome) => o.liveness?.result === 'clear';
  out('');
  out('== LIVENESS (F-spoof + G-spoof attacks; A-single + H-genuine + genuine F-spoof)');
  const apcerN = attacks.filter(accepted).length;
  const bpcerN = genuine.filter((o) => !accepted(o)).length;
  out(`APCER ${apcerN}/${attacks.length} = ${pct(apcerN, attacks.length)}   (target <= 10%)`);
  out(`BPCER ${bpcerN}/${genuine.length} = ${pct(bpcerN, genuine.length)}   (target <= 5%)`);
  const types = [...new Set(attacks.map((o) => o.item.attackType ?? 'unknown'))].sort();
  const perType: Record<string, unknown> = {};
  for (const t of types) {
    const sel = attacks.filter((o) => (o.item.attackType ?? 'unknown') === t);
    const acc = sel.filter(accepted).length;
    out(`  APCER ${t.padEnd(10)} ${acc}/${sel.length} = ${pct(acc, sel.length)}`);
    perType[t] = { n: sel.length, accepted: acc };
  }
  const scoreOf = (o: Outcome) => (o.liveness ? JSON.stringify(o.liveness.breakdown) : 'no face');
  const lmiss = [
    ...attacks
      .filter(accepted)
      .map((o) => `attack accepted: ${o.item.set}/${o.item.rel} [${o.item.attackType}] ${scoreOf(o)}`),
    ...genuine.filter((o) => !accepted(o)).map((o) => `genuine rejected: ${o.item.set}/${o.item.rel} ${scoreOf(o)}`),
  ];
  if (lmiss.length) {
    out('  misses:');
    for (const x of lmiss) out(`   - ${x}`);
  }
  summary.liveness = {
    apcer: attacks.length ? apcerN / attacks.length : null,
    bpcer: genuine.length ? bpcerN / genuine.length : null,
    attacks: attacks.length,
    genuine: genuine.length,
    perType,
  };

  // ---- timings ----
  const ok = outcomes.filter((o) => !o.error);
  const single = ok.filter((o) => o.faceCount === 1);
  out('');
  out('== TIMINGS (ms, median; one core, single-threaded)');
  const keys = ['decode', 'faces', 'obstruction', 'orientation', 'liveness', 'total'] as const;
  out(`${'set'.padEnd(30)} ${keys.map((k) => k.padStart(11)).join(' ')}`);
  const tim: Record<string, unknown> = {};
  for (const [label, sel] of [
    ['all images', ok],
    ['single-face photos', single],
    ['A-single', single.filter((o) => o.item.category === 'A-single')],
  ] as const) {
    const row = keys.map((k) => median(sel.map((o) => o.ms[k])));
    const inference = median(sel.map((o) => o.ms.faces + o.ms.obstruction + o.ms.orientation + o.ms.liveness));
    out(
      `${`${label} (n=${sel.length})`.padEnd(30)} ${row.map((v) => String(Math.round(v)).padStart(11)).join(' ')}   inference=${Math.round(inference)}`,
    );
    tim[label] = Object.fromEntries(keys.map((k, i) => [k, row[i]]));
    (tim[label] as Record<string, number>).inference = inference;
  }
  summary.timings = tim;
  const errors = outcomes.filter((o) => o.error);
  if (errors.length) {
    out('');
    out('errors:');
    for (const e of errors) out(`  ${e.item.file}: ${e.error}`);
  }

  const dir = join(repoRoot, '.eval');
  mkdirSync(dir, { recursive: true });
  const json = JSON.stringify(
    {
      date: new Date().toISOString(),
      engine: engine.info,
      folders,
      summary,
      results: outcomes.map((o) => ({
        file: `${o.item.set}/${o.item.rel}`,
        labels: o.item,
        error: o.error,
        faceCount: o.faceCount,
        faces: o.faces,
        obstruction: o.obstruction,
        orientation: o.orientation,
        liveness: o.liveness,
        ms: o.ms,
      })),
    },
    null,
    1,
  );
  writeFileSync(join(dir, 'latest.json'), json);
  writeFileSync(join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`), json);
  writeFileSync(join(dir, 'latest.txt'), `${lines.join('\n')}\n`);
  await engine.dispose();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
