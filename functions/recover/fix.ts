// The fix a recovery applies to each bad row before it is validated again: a declared list of steps, the
// operations of JSON Patch (RFC 6902) on JSON Pointer paths (RFC 6901), checked before any row is touched.
//   [{"op": "move", "from": "/user_id", "path": "/userId"},
//    {"op": "replace", "path": "/properties/price", "value": 12.5},
//    {"op": "test", "path": "/type", "value": "track"}]            a row whose type is not "track" is left as it was
// `test` guards the steps after it: a row that fails a test is not changed by the fix (it is re-validated as it is).
// Pure: the fix is data, so the same file runs locally and deployed, and a report can repeat it.

export type FixStep =
  | { op: 'add' | 'replace' | 'test'; path: string; value: unknown }
  | { op: 'remove'; path: string }
  | { op: 'move' | 'copy'; from: string; path: string };

export class FixError extends Error {
  override name = 'FixError';
}

const OPS = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);

/** The steps of a fix document, or FixError naming the first step that is not one. */
export function parseFix(document: unknown): FixStep[] {
  if (!Array.isArray(document)) throw new FixError('a fix is a JSON array of steps, e.g. [{"op": "replace", "path": "/userId", "value": "u-1"}]');
  return document.map((step, index): FixStep => {
    const where = `fix step ${index}`;
    if (typeof step !== 'object' || step === null || Array.isArray(step)) throw new FixError(`${where} must be an object`);
    const { op, path, from } = step as Record<string, unknown>;
    if (typeof op !== 'string' || !OPS.has(op)) throw new FixError(`${where}: op must be one of ${[...OPS].join(', ')}`);
    if (typeof path !== 'string') throw new FixError(`${where}: path must be a JSON Pointer string such as "/properties/price"`);
    pointer(path, where);
    if (op === 'move' || op === 'copy') {
      if (typeof from !== 'string') throw new FixError(`${where}: ${op} needs from, a JSON Pointer`);
      pointer(from, where);
      return { op, from, path };
    }
    if (op === 'remove') return { op, path };
    if (!('value' in step)) throw new FixError(`${where}: ${op} needs a value`);
    return { op: op as 'add' | 'replace' | 'test', path, value: (step as { value: unknown }).value };
  });
}

/** "/a/b~1c/0" → ["a", "b/c", "0"] */
function pointer(path: string, where: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new FixError(`${where}: "${path}" is not a JSON Pointer (it starts with "/")`);
  return path
    .slice(1)
    .split('/')
    .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));
}

type Container = Record<string, unknown> | unknown[];
const isContainer = (value: unknown): value is Container => typeof value === 'object' && value !== null;

class StepMiss extends Error {}

function parentOf(document: unknown, tokens: string[]): { parent: Container; key: string } {
  let node = document;
  for (const token of tokens.slice(0, -1)) {
    if (!isContainer(node)) throw new StepMiss();
    node = Array.isArray(node) ? node[Number(token)] : node[token];
  }
  if (!isContainer(node)) throw new StepMiss();
  return { parent: node, key: tokens.at(-1)! };
}

function get(document: unknown, tokens: string[]): unknown {
  let node = document;
  for (const token of tokens) {
    if (!isContainer(node)) return undefined;
    node = Array.isArray(node) ? node[Number(token)] : Object.hasOwn(node, token) ? node[token] : undefined;
  }
  return node;
}

function put(document: unknown, tokens: string[], value: unknown, insert: boolean): unknown {
  if (tokens.length === 0) return value;
  const { parent, key } = parentOf(document, tokens);
  if (Array.isArray(parent)) {
    const index = key === '-' ? parent.length : Number(key);
    if (!Number.isInteger(index) || index < 0 || index > parent.length) throw new StepMiss();
    if (insert) parent.splice(index, 0, value);
    else parent[index] = value;
  } else {
    parent[key] = value;
  }
  return document;
}

function remove(document: unknown, tokens: string[]): unknown {
  if (tokens.length === 0) throw new StepMiss();
  const { parent, key } = parentOf(document, tokens);
  if (Array.isArray(parent)) {
    const index = Number(key);
    if (!Number.isInteger(index) || index < 0 || index >= parent.length) throw new StepMiss();
    parent.splice(index, 1);
  } else {
    if (!Object.hasOwn(parent, key)) throw new StepMiss();
    delete parent[key];
  }
  return document;
}

const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * The document with the steps applied, on a copy; `applied` is false when a `test` failed or a step's
 * path does not exist (`remove`, `replace`, `move` or `copy` of nothing), and then the document is the
 * original, unchanged: a fix applies to a row whole or not at all.
 */
export function applyFix<T>(original: T, steps: readonly FixStep[]): { document: unknown; applied: boolean } {
  let document: unknown = structuredClone(original);
  try {
    for (const step of steps) {
      const tokens = pointer(step.path, step.op);
      switch (step.op) {
        case 'test':
          if (!sameJson(get(document, tokens), step.value)) throw new StepMiss();
          break;
        case 'add':
          document = put(document, tokens, structuredClone(step.value), true);
          break;
        case 'replace':
          if (get(document, tokens) === undefined) throw new StepMiss();
          document = put(document, tokens, structuredClone(step.value), false);
          break;
        case 'remove':
          document = remove(document, tokens);
          break;
        case 'copy':
        case 'move': {
          const fromTokens = pointer(step.from, step.op);
          const value = get(document, fromTokens);
          if (value === undefined) throw new StepMiss();
          if (step.op === 'move') document = remove(document, fromTokens);
          document = put(document, tokens, structuredClone(value), true);
          break;
        }
      }
    }
  } catch (error) {
    if (error instanceof StepMiss) return { document: original, applied: false };
    throw error;
  }
  return { document, applied: true };
}
