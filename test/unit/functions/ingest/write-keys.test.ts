import { describe, expect, it } from 'vitest';
import { UnauthorizedError } from '../../../../functions/ingest/errors.js';
import { authenticate, parseWriteKeys, writeKeyFromAuthorization, WriteKeyVerifier } from '../../../../functions/ingest/write-keys.js';

const verifier = new WriteKeyVerifier(['wk_alpha', 'wk_beta']);
const basic = (user: string, password = '') => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('write keys', () => {
  it('reads the key as the Basic user name, as Segment libraries send it', () => {
    expect(writeKeyFromAuthorization(basic('wk_alpha'))).toBe('wk_alpha');
    expect(writeKeyFromAuthorization(basic('wk_alpha', 'ignored'))).toBe('wk_alpha');
    expect(writeKeyFromAuthorization(`basic ${Buffer.from('wk_beta').toString('base64')}`)).toBe('wk_beta');
    expect(writeKeyFromAuthorization(undefined)).toBeUndefined();
  });

  it('verifies against every configured key', () => {
    expect(verifier.verify('wk_alpha')).toBe(true);
    expect(verifier.verify('wk_beta')).toBe(true);
    expect(verifier.verify('wk_alph')).toBe(false);
    expect(verifier.verify('')).toBe(false);
  });

  it('prefers the header and falls back to the body key', () => {
    expect(authenticate(verifier, basic('wk_alpha'), 'wk_nope')).toBe('wk_alpha');
    expect(authenticate(verifier, undefined, 'wk_beta')).toBe('wk_beta');
    expect(() => authenticate(verifier, undefined, undefined)).toThrow(UnauthorizedError);
    expect(() => authenticate(verifier, basic('wk_nope'), 'wk_alpha')).toThrow('unknown write key');
  });

  it('parses a configured list separated by commas or whitespace', () => {
    expect(parseWriteKeys(' wk_a, wk_b\nwk_c ,, ')).toEqual(['wk_a', 'wk_b', 'wk_c']);
  });
});
