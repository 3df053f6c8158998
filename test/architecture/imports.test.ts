// ARCHITECTURE.md's rule, checked: imports point down only. Every import of every source file is read
// (static, dynamic and require), resolved to the top-level folder it lands in, and held against the folders
// that folder may use. A new top-level folder fails here until it has a floor in ARCHITECTURE.md and below.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Who may import whom (besides itself), from the top floor down; the same table is in ARCHITECTURE.md. */
export const MAY_IMPORT: Record<string, readonly string[]> = {
  test: ['commands', 'bench', 'scripts', 'dashboard', 'local', 'functions', 'analytics', 'schemas', 'tracker', 'infra'],
  bench: ['commands', 'dashboard', 'local', 'functions', 'analytics', 'schemas', 'tracker'],
  scripts: ['local', 'functions', 'analytics', 'schemas'],
  commands: ['dashboard', 'local', 'functions', 'analytics', 'schemas', 'tracker'],
  dashboard: ['local', 'functions', 'analytics', 'schemas'],
  local: ['functions', 'analytics', 'schemas', 'tracker'],
  functions: ['schemas'],
  analytics: ['schemas'],
  schemas: [],
  tracker: [],
  infra: [],
};

const SOURCE = /\.(ts|mts|cts|js|mjs|cjs)$/;
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)(['"])(\.{1,2}\/[^'"]+)\1/gm;

function sourceFiles(): string[] {
  return execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' })
    .split('\n')
    .filter((file) => SOURCE.test(file) && file.includes('/') && !file.includes('node_modules/') && !file.endsWith('.generated.ts'));
}

const folderOf = (file: string): string => file.split('/')[0]!;

interface Import {
  from: string;
  to: string;
}

function imports(): Import[] {
  return sourceFiles().flatMap((file) => {
    const text = readFileSync(join(ROOT, file), 'utf8');
    return [...text.matchAll(IMPORT)].map((match) => ({ from: file, to: normalize(join(dirname(file), match[2]!)) }));
  });
}

describe('imports point down only (ARCHITECTURE.md)', () => {
  const all = imports();

  it('reads the imports of every folder', () => {
    const folders = new Set(all.map((i) => folderOf(i.from)));
    for (const folder of ['commands', 'local', 'functions', 'dashboard', 'bench', 'test']) expect(folders).toContain(folder);
  });

  it('has a floor for every top-level folder with code', () => {
    const folders = new Set(sourceFiles().map(folderOf).filter((f) => !f.startsWith('.')));
    expect([...folders].filter((folder) => !(folder in MAY_IMPORT))).toEqual([]);
  });

  it('no folder imports one it may not use', () => {
    const wrong = all
      .filter(({ from, to }) => !to.startsWith('..') && folderOf(from) !== folderOf(to) && !(MAY_IMPORT[folderOf(from)] ?? []).includes(folderOf(to)))
      .map(({ from, to }) => `${from} → ${relative('.', to)}`);
    expect(wrong).toEqual([]);
  });

  it('the ARCHITECTURE.md table is this one', () => {
    const doc = readFileSync(join(ROOT, 'ARCHITECTURE.md'), 'utf8');
    for (const [folder, below] of Object.entries(MAY_IMPORT)) {
      const row = new RegExp(`^\\| \`${folder}/\` \\|[^|]*\\| ${below.length === 0 ? 'nothing' : below.map((b) => `\`${b}/\``).join(', ')} \\|$`, 'm');
      expect(doc, `ARCHITECTURE.md has no row "| \`${folder}/\` | … | ${below.join(', ') || 'nothing'} |"`).toMatch(row);
    }
  });

  it('names every folder of local/ in ARCHITECTURE.md', () => {
    const doc = readFileSync(join(ROOT, 'ARCHITECTURE.md'), 'utf8');
    const boxes = new Set(sourceFiles().filter((f) => f.startsWith('local/') && f.split('/').length > 2).map((f) => f.split('/')[1]!));
    expect([...boxes].filter((box) => !doc.includes(`local/${box}/`))).toEqual([]);
  });
});
