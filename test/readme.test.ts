import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderConfigTable } from '../scripts/config-table.js';

const root = path.resolve(import.meta.dirname, '..');

describe('README', () => {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');

  it('carries the configuration table generated from the config schema (run `pnpm config:table`)', () => {
    expect(readme).toContain(renderConfigTable());
  });

  it('names the two commands, and CI runs the test one', () => {
    expect(readme).toContain('scripts/dev run');
    expect(readme).toContain('scripts/dev test');
    expect(readFileSync(path.join(root, '.ci/run'), 'utf8')).toMatch(/^exec scripts\/dev test$/m);
  });
});
