import { DuckDBInstance } from '@duckdb/node-api';
import { mkdirSync } from 'node:fs';
const start = Date.UTC(2026, 10, 1, 0, 0, 0); const N = Number(process.argv[2] ?? 1000);
const i = await DuckDBInstance.create(':memory:'); const c = await i.connect();
for (let k = 0; k < N; k++) {
  const t = start + k * 10_000; const iso = new Date(t).toISOString();
  const dir = `/tmp/pf/synlake/events/dt=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}`; mkdirSync(dir, { recursive: true });
  await c.run(`COPY (SELECT epoch_ms(${t}::BIGINT + (r*5)::BIGINT) AS event_time, 'm-${k}-' || r AS message_id, 'v-' || (hash(r + ${k}*7) % 20000) AS anonymous_id, NULL::VARCHAR AS user_id,
    CASE WHEN r % 5 = 0 THEN 'page' ELSE 'track' END AS type, false AS is_bot, '/p/' || (r % 97) AS page_path, NULL::VARCHAR AS context_page_path
    FROM range(2000) t(r)) TO '${dir}/f-${String(k).padStart(5, '0')}.parquet._S3rver_object' (FORMAT parquet)`);
}
console.log('done');
