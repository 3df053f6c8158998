import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { generateTypes } from '../../../schemas/generate-types.js';

describe('generated TypeScript types', () => {
  it('are up to date with the JSON Schemas (run `npm run gen:types` after a schema change)', async () => {
    const committed = await readFile(new URL('../../../schemas/types.generated.ts', import.meta.url), 'utf8');
    expect(committed).toBe(await generateTypes());
  });
});
