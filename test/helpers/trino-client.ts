// Trino's client protocol over HTTP, as far as a test needs it: POST the statement to /v1/statement, then follow
// nextUri until the server gives none, collecting the columns and the rows (Trino's documented REST protocol;
// its JDBC driver and CLI speak the same). The session runs in UTC, as Athena's does.

export interface TrinoColumn {
  name: string;
  /** Trino's type, e.g. bigint, varchar, double, timestamp(3). */
  type: string;
}

export interface TrinoResult {
  columns: TrinoColumn[];
  rows: unknown[][];
}

interface StatementResponse {
  nextUri?: string;
  columns?: TrinoColumn[];
  data?: unknown[][];
  error?: { message: string; errorName: string; errorLocation?: { lineNumber: number; columnNumber: number } };
}

export class TrinoQueryError extends Error {
  constructor(
    message: string,
    readonly errorName: string,
  ) {
    super(message);
    this.name = 'TrinoQueryError';
  }
}

export interface TrinoSession {
  catalog?: string;
  schema?: string;
}

/** Runs one statement and returns all its rows. A failed statement rejects with TrinoQueryError. */
export async function trinoQuery(url: string, sql: string, session: TrinoSession = {}): Promise<TrinoResult> {
  const headers: Record<string, string> = {
    'X-Trino-User': 'clickstream-test',
    'X-Trino-Time-Zone': 'UTC',
    ...(session.catalog ? { 'X-Trino-Catalog': session.catalog } : {}),
    ...(session.schema ? { 'X-Trino-Schema': session.schema } : {}),
  };
  let response = await request(`${url}/v1/statement`, { method: 'POST', headers, body: sql });
  const result: TrinoResult = { columns: [], rows: [] };
  for (;;) {
    if (response.error) {
      const at = response.error.errorLocation ? ` (line ${response.error.errorLocation.lineNumber}, column ${response.error.errorLocation.columnNumber})` : '';
      throw new TrinoQueryError(`${response.error.errorName}: ${response.error.message}${at}`, response.error.errorName);
    }
    if (response.columns) result.columns = response.columns;
    if (response.data) result.rows.push(...response.data);
    if (!response.nextUri) return result;
    response = await request(response.nextUri, { method: 'GET', headers });
  }
}

/** One protocol request; 502, 503 and 504 mean "try again shortly" in Trino's protocol. */
async function request(url: string, init: RequestInit): Promise<StatementResponse> {
  for (let attempt = 0; ; attempt++) {
    const response = await fetch(url, init);
    if ([502, 503, 504].includes(response.status) && attempt < 20) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      continue;
    }
    if (!response.ok) throw new Error(`Trino answered ${response.status} to ${init.method} ${url}: ${await response.text()}`);
    return (await response.json()) as StatementResponse;
  }
}
