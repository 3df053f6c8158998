// Parses a JSON request body and, when it is not JSON, says where: V8's messages only sometimes carry
// the position, so a small scanner finds the first offending character on the error path only.
import { BadRequestError } from './errors.js';

/** The body's JSON value; `contentType`, when it names something else, goes into the reason for a body that is not JSON. */
export function parseJsonBody(text: string, contentType?: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    const at = locateJsonError(text);
    const { line, column } = lineAndColumn(text, at.position);
    const mediaType = contentType?.split(';')[0]!.trim().toLowerCase();
    const label = mediaType && mediaType !== 'application/json' ? ` (sent as ${mediaType}; whatever the content-type, the body must be JSON)` : '';
    throw new BadRequestError(`body is not valid JSON: ${at.problem} at position ${at.position} (line ${line}, column ${column})${label}`);
  }
}

export interface JsonErrorLocation {
  position: number;
  problem: string;
}

/** Finds the first syntax error in text that JSON.parse rejected. */
export function locateJsonError(text: string): JsonErrorLocation {
  let i = 0;
  const fail = (problem: string): never => {
    throw { position: i, problem } satisfies JsonErrorLocation;
  };
  const describe = () => (i >= text.length ? 'unexpected end of input' : `unexpected ${JSON.stringify(text[i])}`);
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const literal = (word: string) => {
    for (const ch of word) {
      if (text[i] !== ch) fail(describe());
      i++;
    }
  };
  const string = () => {
    i++; // opening quote
    while (i < text.length) {
      const ch = text.charCodeAt(i);
      if (ch === 0x22) {
        i++;
        return;
      }
      if (ch < 0x20) fail('control character in string');
      if (ch === 0x5c) {
        i++;
        const esc = text[i];
        if (esc === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail('bad \\u escape');
          i += 5;
          continue;
        }
        if (esc === undefined || !'"\\/bfnrt'.includes(esc)) fail('bad escape character');
      }
      i++;
    }
    fail('unterminated string');
  };
  const number = () => {
    const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!match || match[0] === '-') fail(describe());
    i += match![0].length;
  };
  const value = (depth: number): void => {
    if (depth > 10_000) fail('nesting too deep');
    ws();
    const ch = text[i];
    if (ch === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail(`${describe()}, expected a property name in double quotes`);
        string();
        ws();
        if (text[i] !== ':') fail(`${describe()}, expected ':'`);
        i++;
        value(depth + 1);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        fail(`${describe()}, expected ',' or '}'`);
      }
    }
    if (ch === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value(depth + 1);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        fail(`${describe()}, expected ',' or ']'`);
      }
    }
    if (ch === '"') return string();
    if (ch === 't') return literal('true');
    if (ch === 'f') return literal('false');
    if (ch === 'n') return literal('null');
    if (ch === '-' || (ch !== undefined && ch >= '0' && ch <= '9')) return number();
    fail(describe());
  };
  try {
    value(0);
    ws();
    if (i < text.length) fail(`${describe()} after the JSON value`);
  } catch (located) {
    if (typeof located === 'object' && located !== null && 'position' in located) return located as JsonErrorLocation;
    // Our own scanner can only exceed the stack on absurd nesting: report the point reached.
    return { position: i, problem: 'nesting too deep' };
  }
  // JSON.parse failed but the scanner found nothing: report the end rather than guess.
  return { position: text.length, problem: 'invalid JSON' };
}

function lineAndColumn(text: string, position: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < position && i < text.length; i++) {
    if (text.charCodeAt(i) === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: position - lineStart + 1 };
}
