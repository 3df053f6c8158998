// Writes schemas/lake-tables.generated.json, the Glue columns that infra/lake.yml reads at package time
// (`${file(./schemas/lake-tables.generated.json):events.columns}`), from schemas/lake-tables.ts.
// Run with `npm run gen:tables`; test/unit/schemas/lake-tables.test.ts fails when the file is stale.
// A committed file rather than a package-time resolver: osls loads resolvers with require(), which cannot
// run the TypeScript derivation, and a column change then shows in review as a diff of this file.
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { lakeTablesDocument } from './lake-tables.js';

export const LAKE_TABLES_FILE = fileURLToPath(new URL('./lake-tables.generated.json', import.meta.url));

export const generateLakeTables = (): string => `${JSON.stringify(lakeTablesDocument(), null, 2)}\n`;

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await writeFile(LAKE_TABLES_FILE, generateLakeTables());
  console.log(`wrote ${LAKE_TABLES_FILE}`);
}
