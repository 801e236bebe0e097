// Generates the README's configuration table from the zod config schema, so the two cannot drift.
//   pnpm config:table          print it
//   pnpm config:table --write  replace the table between the markers in README.md
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describeConfig } from '@selfie/config';

const START = '<!-- config-table:start -->';
const END = '<!-- config-table:end -->';

export function renderConfigTable(): string {
  const rows = describeConfig().map(
    (v) =>
      `| \`${v.name}\` | ${v.default === '' ? '—' : `\`${v.default}\``} | ${v.description.replaceAll('|', '\\|')} |`,
  );
  return [START, '| Variable | Default | What it does |', '| --- | --- | --- |', ...rows, END].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv.includes('--write')) {
    const file = path.resolve(import.meta.dirname, '../README.md');
    const readme = readFileSync(file, 'utf8');
    const from = readme.indexOf(START);
    const to = readme.indexOf(END);
    if (from < 0 || to < from) throw new Error(`README.md lacks the ${START} … ${END} markers`);
    writeFileSync(file, readme.slice(0, from) + renderConfigTable() + readme.slice(to + END.length));
  } else {
    process.stdout.write(`${renderConfigTable()}\n`);
  }
}
