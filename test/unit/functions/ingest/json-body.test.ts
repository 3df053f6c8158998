import { describe, expect, it } from 'vitest';
import { locateJsonError, parseJsonBody } from '../../../../functions/ingest/json-body.js';
import { BadRequestError } from '../../../../functions/ingest/errors.js';

describe('parseJsonBody', () => {
  it('parses JSON', () => {
    expect(parseJsonBody('{"batch":[]}')).toEqual({ batch: [] });
  });

  it.each([
    ['{"a":}', 5, 'unexpected "}"'],
    ['{"a":1', 6, "unexpected end of input, expected ',' or '}'"],
    ['', 0, 'unexpected end of input'],
    ['nul', 3, 'unexpected end of input'],
    ["{'a':1}", 1, `unexpected "'", expected a property name in double quotes`],
    ['{"a":"\\x"}', 7, 'bad escape character'],
    ['[1,2,]', 5, 'unexpected "]"'],
    ['{"a":1} trailing', 8, 'unexpected "t" after the JSON value'],
    ['{"a":01}', 6, `unexpected "1", expected ',' or '}'`],
    ['"tab\there"', 4, 'control character in string'],
  ])('locates the error in %j at %i', (text, position, problem) => {
    expect(() => JSON.parse(text)).toThrow();
    expect(locateJsonError(text)).toEqual({ position, problem });
  });

  it('reports line and column in the 400 message', () => {
    const text = '{\n  "batch": [\n    {"type": "track",}\n  ]\n}';
    expect(() => parseJsonBody(text)).toThrow(BadRequestError);
    expect(() => parseJsonBody(text)).toThrow(/at position 36 \(line 3, column 22\)$/);
  });
});
