// What real SDKs put in an event that the Segment spec says another way, mapped to the spec before the
// envelope is checked, so that no SDK's events are refused or lose a field for a difference of dialect.
// Pure and in place: the item is the request's own parsed JSON.

/**
 * - `""` or `null` as `userId` / `anonymousId` means absent (RudderStack's browser SDK sends `"userId": ""`
 *   before identify; a field that is absent is what the spec means by "not known yet").
 * - An identify whose traits come only in `context.traits` (RudderStack) gets them as `traits`, where the
 *   spec, the lake's `traits` column and every query look for them. `context.traits` stays as sent.
 */
export function toSegmentSpec(item: Record<string, unknown>, type: unknown): void {
  if (item['userId'] === '' || item['userId'] === null) delete item['userId'];
  if (item['anonymousId'] === '' || item['anonymousId'] === null) delete item['anonymousId'];
  if (type === 'identify' && isEmptyOrAbsent(item['traits'])) {
    const contextTraits = (item['context'] as { traits?: unknown } | undefined)?.traits;
    if (isPlainObject(contextTraits) && Object.keys(contextTraits).length > 0) item['traits'] = contextTraits;
  }
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isEmptyOrAbsent = (value: unknown): boolean =>
  value === undefined || value === null || (isPlainObject(value) && Object.keys(value).length === 0);
