// How deep client JSON may nest, and an iterative check of it. JSON.parse takes any depth, but
// JSON.stringify and every recursive walk (canonical JSON, schema checks) overflow the stack a few
// thousand levels down: a RangeError, that is a 500 or a failed batch for what is only bad input. Each
// stage that takes client JSON checks this first, so nothing after it ever meets a deep value.

/** Nesting levels an event may have (the event object itself is level 1); real events use fewer than 10. */
export const MAX_JSON_DEPTH = 64;

/** True when `value` nests objects or arrays more than `maxDepth` levels deep. Walks with its own stack. */
export function exceedsJsonDepth(value: unknown, maxDepth = MAX_JSON_DEPTH): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const nodes: object[] = [value];
  const depths: number[] = [1];
  while (nodes.length > 0) {
    const node = nodes.pop()!;
    const depth = depths.pop()!;
    if (depth > maxDepth) return true;
    const children: unknown[] = Array.isArray(node) ? node : Object.values(node);
    for (const child of children) {
      if (typeof child === 'object' && child !== null) {
        nodes.push(child);
        depths.push(depth + 1);
      }
    }
  }
  return false;
}

/** The reason given for a value that `exceedsJsonDepth` refused. */
export const tooDeepReason = (what: string, maxDepth = MAX_JSON_DEPTH): string => `${what} nests deeper than ${maxDepth} levels`;
