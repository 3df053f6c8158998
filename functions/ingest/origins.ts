// Which browser origins may send events: the stage's `allowedOrigins`, with API Gateway's matching rules
// ("*", an exact origin, or a scheme wildcard such as "https://*"). API Gateway applies them to CORS only,
// and CORS stops a browser from reading an answer, not from sending a simple request: sendBeacon and
// text/plain posts need no preflight. So ingest refuses a disallowed Origin itself, before any work.

export const parseAllowedOrigins = (value: string | undefined): string[] => {
  const origins = (value ?? '')
    .split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin.length > 0);
  return origins.length > 0 ? origins : ['*'];
};

/** True when `origin` (an Origin header) is one of `allowed`. */
export function originAllowed(allowed: readonly string[], origin: string): boolean {
  const candidate = origin.toLowerCase();
  return allowed.some((entry) => {
    if (entry === '*') return true;
    const pattern = entry.toLowerCase();
    return pattern.endsWith('://*') ? candidate.startsWith(pattern.slice(0, -1)) : pattern === candidate;
  });
}
