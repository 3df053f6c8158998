// The cost table in README.md and the price list in docs/cost.md are `npm run bench cost`'s output for the
// committed bench/results.json, never a hand-edited copy.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { costReport, GENERATED_BLOCKS, measuredInputs, priceList, replaceBlock } from '../../../bench/cost-model.js';

const read = (file: string): string => readFileSync(new URL(`../../../${file}`, import.meta.url), 'utf8');

describe('generated cost documents', () => {
  it('README.md shows the cost table of bench/results.json', async () => {
    const readme = read('README.md');
    expect(replaceBlock(readme, GENERATED_BLOCKS['README.md'], costReport(await measuredInputs()))).toBe(readme);
  });

  it('docs/cost.md shows the price list of bench/cost-model.ts', () => {
    const doc = read('docs/cost.md');
    expect(replaceBlock(doc, GENERATED_BLOCKS['docs/cost.md'], priceList())).toBe(doc);
  });

  it('replaceBlock needs both markers', () => {
    expect(() => replaceBlock('no markers here', 'cost-table', 'x')).toThrow(/cost-table/);
    expect(replaceBlock('a\n<!-- b:start -->\nold\n<!-- b:end -->\nc', 'b', 'new')).toBe('a\n<!-- b:start -->\nnew\n<!-- b:end -->\nc');
  });
});
