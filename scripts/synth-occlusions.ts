/**
 * Synthetic occlusions for developing the obstruction stage: draws sunglasses, hands, masks, hair fringes and
 * phones (expected obstruction: yes) and clear / lightly tinted glasses and thin hair strands (expected: no) over
 * clear single-face photos, from the face engine's landmarks.
 *
 *   pnpm exec tsx scripts/synth-occlusions.ts [--out DIR] [--per-photo N] [--seed S] [--limit N] [--kinds a,b]
 *                                             [source folders…]
 *
 * Sources default to the clear single-face photos of the shared fixtures (faces/ A-single and more-2026-12/
 * clear/genuine rows labelled expected_obstruction "no", and the first 60 files of masks/without_mask/). A source
 * folder given on the command line is read through its MANIFEST.tsv (rows with one face and no obstruction) or,
 * without one, taken whole. Every photo is decoded and analysed by the face engine; photos without exactly one
 * face with landmarks are skipped. Each kept photo gets --per-photo variants (default 3) of different kinds,
 * picked with a seeded PRNG (--seed, default 1) so that kinds stay balanced over the set and reruns are identical.
 * Variants are drawn on the decoded analysis image (long side <= 1024) and written as JPEG quality 92.
 *
 * Output (default .eval/synth-occlusions/, git-ignored; outputs are refused elsewhere inside the repository since
 * some sources are research-licensed): the images, MANIFEST.tsv (eval columns plus obstruction_kind,
 * covered_regions, synthetic, source_file) and contact sheets (contact.jpg, contact-<kind>.jpg) of face crops.
 * covered_regions comes from rendering the occluder alone and measuring which share of each eye, the lower nose
 * and the mouth it hides (notes carry the numbers); a draw that misses its target is redrawn.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import {
  analyzeFaces,
  createFaceEngine,
  type DecodedImage,
  decodeImage,
  type FaceLandmarks,
} from '../packages/face-engine/src/index.js';
import {
  blendOccluder,
  buildOccluder,
  type Coverage,
  coverageFits,
  coverageOf,
  coveredRegions,
  hashSeed,
  isObstructing,
  mulberry32,
  OCCLUDER_KINDS,
  type OccluderKind,
  type Point,
  type Rgb,
  renderOccluder,
} from './lib/occluders.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const fixturesRoot =
  [resolve(repoRoot, '../shared/fixtures'), '/work/shared/fixtures'].find((p) => existsSync(p)) ??
  '/work/shared/fixtures';
const IMAGE_RE = /\.(jpe?g|png|webp)$/i;
const MAX_ATTEMPTS = 8;
/** Webcam frames in masks/without_mask/ whose mouth is in fact covered (a hand, or a blue cloth): not clear faces. */
const KNOWN_COVERED = /^2020-06-23-/;

interface Options {
  out: string;
  perPhoto: number;
  seed: number;
  limit: number;
  kinds: OccluderKind[];
  folders: string[];
}

interface Source {
  file: string;
  /** Path relative to the fixtures root (or to the working directory for other folders). */
  rel: string;
}

function usage(): never {
  console.log(
    'usage: pnpm exec tsx scripts/synth-occlusions.ts [--out DIR] [--per-photo N] [--seed S] [--limit N] [--kinds k1,k2] [folders…]',
  );
  console.log(`kinds: ${OCCLUDER_KINDS.join(', ')}`);
  process.exit(0);
}

function parseArgs(argv: string[]): Options {
  const opts: Options = {
    out: join(repoRoot, '.eval', 'synth-occlusions'),
    perPhoto: 3,
    seed: 1,
    limit: Number.POSITIVE_INFINITY,
    kinds: [...OCCLUDER_KINDS],
    folders: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const int = (v: string) => {
      const x = Number(v);
      if (!Number.isInteger(x) || x < 0) throw new Error(`${a}: not a non-negative integer: ${v}`);
      return x;
    };
    if (a === '--out') opts.out = resolve(value());
    else if (a === '--per-photo') opts.perPhoto = int(value());
    else if (a === '--seed') opts.seed = int(value());
    else if (a === '--limit') opts.limit = int(value());
    else if (a === '--kinds') {
      const ks = value().split(',');
      for (const k of ks) if (!(OCCLUDER_KINDS as readonly string[]).includes(k)) throw new Error(`unknown kind ${k}`);
      opts.kinds = ks as OccluderKind[];
    } else if (a === '--help' || a === '-h') usage();
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
    else opts.folders.push(resolve(a));
  }
  if (opts.perPhoto > opts.kinds.length) {
    throw new Error(`--per-photo ${opts.perPhoto} exceeds the ${opts.kinds.length} kinds (one of each per photo)`);
  }
  return opts;
}

function readManifest(path: string): Record<string, string>[] {
  const lines = readFileSync(path, 'utf8')
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '');
  const header = (lines[0] ?? '').split('\t');
  return lines.slice(1).map((line) => {
    const cells = line.split('\t');
    return Object.fromEntries(header.map((h, i) => [h, cells[i] ?? '']));
  });
}

const relName = (file: string) => {
  const r = relative(fixturesRoot, file);
  return !r.startsWith('..') && !isAbsolute(r) ? r : relative(process.cwd(), file);
};

function manifestSources(dir: string, keep: (row: Record<string, string>) => boolean): Source[] {
  return readManifest(join(dir, 'MANIFEST.tsv'))
    .filter(keep)
    .map((row) => join(dir, row.file ?? ''))
    .filter((f) => IMAGE_RE.test(f) && existsSync(f))
    .map((file) => ({ file, rel: relName(file) }));
}

function defaultSources(): Source[] {
  const no = (r: Record<string, string>) => (r.expected_obstruction ?? '').trim().toLowerCase() === 'no';
  const faces = manifestSources(join(fixturesRoot, 'faces'), (r) => r.category === 'A-single' && no(r));
  const more = manifestSources(
    join(fixturesRoot, 'more-2026-12'),
    (r) => (r.category === 'clear' || r.category === 'genuine') && no(r),
  );
  const maskDir = join(fixturesRoot, 'masks', 'without_mask');
  const masks = readdirSync(maskDir)
    .filter((f) => IMAGE_RE.test(f) && !KNOWN_COVERED.test(f))
    .sort()
    .slice(0, 60)
    .map((f) => ({ file: join(maskDir, f), rel: relName(join(maskDir, f)) }));
  return [...faces, ...more, ...masks];
}

function folderSources(dir: string): Source[] {
  if (existsSync(join(dir, 'MANIFEST.tsv'))) {
    return manifestSources(
      dir,
      (r) => (r.expected_obstruction ?? '').trim().toLowerCase() === 'no' && (r.expected_face_count ?? '1') === '1',
    );
  }
  return readdirSync(dir)
    .filter((f) => IMAGE_RE.test(f))
    .sort()
    .map((f) => ({ file: join(dir, f), rel: relName(join(dir, f)) }));
}

// ---------------------------------------------------------------- colour sampling

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
};

/** Median colour of the squares (half-size r) around the given centres, or null when all fall outside. */
function sampleColour(image: DecodedImage, centres: Point[], r: number): Rgb | null {
  const rs: number[] = [];
  const gs: number[] = [];
  const bs: number[] = [];
  for (const c of centres) {
    for (let y = Math.round(c[1] - r); y <= Math.round(c[1] + r); y++) {
      if (y < 0 || y >= image.height) continue;
      for (let x = Math.round(c[0] - r); x <= Math.round(c[0] + r); x++) {
        if (x < 0 || x >= image.width) continue;
        const i = (y * image.width + x) * 3;
        rs.push(image.data[i] ?? 0);
        gs.push(image.data[i + 1] ?? 0);
        bs.push(image.data[i + 2] ?? 0);
      }
    }
  }
  if (rs.length === 0) return null;
  return { r: median(rs), g: median(gs), b: median(bs) };
}

function eyeDistance(lm: FaceLandmarks): number {
  const k = lm.points;
  const cx = (a: Point, b: Point) => [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2] as const;
  const r = cx(k.rightEyeOuter, k.rightEyeInner);
  const l = cx(k.leftEyeOuter, k.leftEyeInner);
  return Math.hypot(r[0] - l[0], r[1] - l[1]);
}

function skinTone(image: DecodedImage, lm: FaceLandmarks): Rgb {
  const d = eyeDistance(lm);
  const k = lm.points;
  const sampled = sampleColour(
    image,
    [k.rightUpperCheek, k.leftUpperCheek, k.rightLowerCheek, k.leftLowerCheek, k.forehead],
    Math.max(2, 0.07 * d),
  ) ?? { r: 200, g: 160, b: 140 };
  // over-exposed or grey-lit cheeks give a colourless tone: pull it towards a usual skin hue of the same lightness
  let { r, g, b } = sampled;
  const chroma = (r - b) / Math.max(1, r);
  if (chroma < 0.15) {
    const y = 0.299 * r + 0.587 * g + 0.114 * b;
    const t = Math.min(1, (0.15 - chroma) / 0.15) * 0.8;
    const target = { r: y * 1.16, g: y * 0.96, b: y * 0.82 };
    r += (target.r - r) * t;
    g += (target.g - g) * t;
    b += (target.b - b) * t;
  }
  const scale = Math.min(1, 225 / Math.max(r, g, b));
  return { r: r * scale, g: g * scale, b: b * scale };
}

/** Colour just above the top of the forehead (hair when there is some). */
function hairTone(image: DecodedImage, lm: FaceLandmarks): Rgb | undefined {
  const d = eyeDistance(lm);
  const k = lm.points;
  const up = [k.top[0] - k.chin[0], k.top[1] - k.chin[1]];
  const len = Math.hypot(up[0] ?? 0, up[1] ?? 0) || 1;
  const at: Point = [k.top[0] + ((up[0] ?? 0) / len) * 0.25 * d, k.top[1] + ((up[1] ?? 0) / len) * 0.25 * d];
  return sampleColour(image, [at], Math.max(2, 0.1 * d)) ?? undefined;
}

// ---------------------------------------------------------------- contact sheets

const TILE = 200;
const LABEL_H = 22;

async function tile(
  jpeg: Buffer,
  image: DecodedImage,
  box: { x: number; y: number; width: number; height: number },
  label: string,
) {
  const side = Math.max(box.width, box.height) * 1.8;
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  const left = Math.max(0, Math.round(cx - side / 2));
  const top = Math.max(0, Math.round(cy - side / 2));
  const width = Math.max(1, Math.min(image.width - left, Math.round(side)));
  const height = Math.max(1, Math.min(image.height - top, Math.round(side)));
  const esc = label.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const text = Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${TILE}" height="${LABEL_H}"><rect width="100%" height="100%" fill="#000"/><text x="4" y="15" font-family="DejaVu Sans" font-size="12" fill="#fff">${esc}</text></svg>`,
  );
  const face = await sharp(jpeg)
    .extract({ left, top, width, height })
    .resize(TILE, TILE - LABEL_H, { fit: 'contain', background: '#808080' })
    .toBuffer();
  return sharp({ create: { width: TILE, height: TILE, channels: 3, background: '#808080' } })
    .composite([
      { input: face, left: 0, top: 0 },
      { input: text, left: 0, top: TILE - LABEL_H },
    ])
    .png()
    .toBuffer();
}

async function contactSheet(tiles: Buffer[], cols: number, file: string) {
  if (tiles.length === 0) return;
  const rows = Math.ceil(tiles.length / cols);
  const c = Math.min(cols, tiles.length);
  await sharp({ create: { width: c * TILE, height: rows * TILE, channels: 3, background: '#202020' } })
    .composite(tiles.map((input, i) => ({ input, left: (i % cols) * TILE, top: Math.floor(i / cols) * TILE })))
    .jpeg({ quality: 85 })
    .toFile(file);
}

// ---------------------------------------------------------------- main

const fmt = (c: Coverage) =>
  `cover eyeR=${c.rightEye.toFixed(2)} eyeL=${c.leftEye.toFixed(2)} nose=${c.nose.toFixed(2)} mouth=${c.mouth.toFixed(2)}`;

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const insideRepo = relative(repoRoot, opts.out);
  const inRepo = !insideRepo.startsWith('..') && !isAbsolute(insideRepo);
  const underEval = insideRepo === '.eval' || insideRepo.startsWith(`.eval/`);
  if (inRepo && !underEval) {
    throw new Error(
      `refusing to write inside the repository outside .eval/ (${opts.out}): sources may be research-only`,
    );
  }
  mkdirSync(opts.out, { recursive: true });
  // remove the previous run's files (only those it listed, and the contact sheets)
  const oldManifest = join(opts.out, 'MANIFEST.tsv');
  if (existsSync(oldManifest)) {
    for (const row of readManifest(oldManifest)) if (row.file) rmSync(join(opts.out, row.file), { force: true });
  }
  for (const f of readdirSync(opts.out)) if (/^contact(-[\w-]+)?\.jpg$/.test(f)) rmSync(join(opts.out, f));

  const sources = (opts.folders.length ? opts.folders.flatMap(folderSources) : defaultSources()).slice(0, opts.limit);
  console.log(`${sources.length} source photos, ${opts.perPhoto} variants each, seed ${opts.seed} -> ${opts.out}`);

  const engine = await createFaceEngine();
  const counts = new Map<OccluderKind, number>(opts.kinds.map((k) => [k, 0]));
  const kindRng = mulberry32(hashSeed(opts.seed, 'kinds'));
  const rows: string[] = [];
  const tiles: { kind: OccluderKind; png: Buffer }[] = [];
  let used = 0;
  let skipped = 0;
  try {
    for (const src of sources) {
      // the tie-break keys are drawn for every photo so that one skipped photo does not reshuffle the rest
      const tieBreak = new Map(opts.kinds.map((k) => [k, kindRng()]));
      let image: DecodedImage;
      let lm: FaceLandmarks | null;
      let box: { x: number; y: number; width: number; height: number };
      try {
        image = await decodeImage(readFileSync(src.file));
        const faces = await analyzeFaces(engine, image);
        const face = faces.faces.length === 1 ? faces.faces[0] : undefined;
        lm = face?.landmarks ?? null;
        if (!face || !lm) {
          console.log(`skip ${src.rel}: ${faces.faces.length} face(s)${face ? ', no landmarks' : ''}`);
          skipped++;
          continue;
        }
        box = face.boxPixels;
      } catch (err) {
        console.log(`skip ${src.rel}: ${(err as Error).message}`);
        skipped++;
        continue;
      }
      used++;
      const ctx = { skin: skinTone(image, lm), hair: hairTone(image, lm) };
      const order = [...opts.kinds].sort(
        (a, b) => (counts.get(a) ?? 0) - (counts.get(b) ?? 0) || (tieBreak.get(a) ?? 0) - (tieBreak.get(b) ?? 0),
      );
      let made = 0;
      for (const kind of order) {
        if (made >= opts.perPhoto) break;
        let done = false;
        for (let attempt = 0; attempt < MAX_ATTEMPTS && !done; attempt++) {
          const rng = mulberry32(hashSeed(opts.seed, src.rel, kind, attempt));
          const occ = buildOccluder(kind, lm, image, rng, ctx);
          const rendered = await renderOccluder(occ.svg);
          const cov = coverageOf(rendered, lm);
          if (!coverageFits(kind, cov)) continue;
          done = true;
          const name = `${src.rel.replace(/\.[^.]+$/, '').replace(/[/\\]+/g, '__')}__${kind}.jpg`;
          const blended = blendOccluder(image.data, rendered, rng, 2 + rng() * 2.5);
          const jpeg = await sharp(blended, { raw: { width: image.width, height: image.height, channels: 3 } })
            .jpeg({ quality: 92 })
            .toBuffer();
          writeFileSync(join(opts.out, name), jpeg);
          const positive = isObstructing(kind);
          const regions = positive ? coveredRegions(cov).join(',') : '';
          const notes = `${occ.notes}; ${fmt(cov)}; skin=${[ctx.skin.r, ctx.skin.g, ctx.skin.b].map(Math.round).join('/')}; attempt ${attempt + 1}`;
          rows.push(
            [
              name,
              `synth-${kind}`,
              '1',
              positive ? 'yes' : 'no',
              kind,
              regions,
              '',
              '',
              'yes',
              src.rel,
              notes.replace(/[\t\n]/g, ' '),
            ].join('\t'),
          );
          tiles.push({ kind, png: await tile(jpeg, image, box, `${kind} ${regions}`) });
          counts.set(kind, (counts.get(kind) ?? 0) + 1);
          made++;
        }
        if (!done) console.log(`  ${src.rel}: no ${kind} fitted in ${MAX_ATTEMPTS} attempts`);
      }
      console.log(`${src.rel}: ${made} variant(s)`);
    }
  } finally {
    await engine.dispose();
  }

  const header = [
    'file',
    'category',
    'expected_face_count',
    'expected_obstruction',
    'obstruction_kind',
    'covered_regions',
    'expected_orientation_ok',
    'expected_genuine',
    'synthetic',
    'source_file',
    'notes',
  ].join('\t');
  writeFileSync(join(opts.out, 'MANIFEST.tsv'), `${[header, ...rows].join('\n')}\n`);
  await contactSheet(
    tiles.map((t) => t.png),
    12,
    join(opts.out, 'contact.jpg'),
  );
  for (const kind of opts.kinds) {
    await contactSheet(
      tiles.filter((t) => t.kind === kind).map((t) => t.png),
      8,
      join(opts.out, `contact-${kind}.jpg`),
    );
  }
  console.log(`\n${used} photos used, ${skipped} skipped, ${rows.length} images`);
  for (const kind of opts.kinds) {
    console.log(`  ${kind.padEnd(20)} ${counts.get(kind) ?? 0} (${isObstructing(kind) ? 'obstructed' : 'clear'})`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
