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
    expect(parseWriteKeys(' wk_a, wk_b\nwk_c ,, ').map((e) => e.key)).toEqual(['wk_a', 'wk_b', 'wk_c']);
  });

  it('ties Snowplow app ids to the write key before them', () => {
    const entries = parseWriteKeys('wk_web aid=shop-web aid=shop-ios, wk_server\nwk_other aid=kiosk');
    expect(entries).toEqual([
      { key: 'wk_web', snowplowAppIds: ['shop-web', 'shop-ios'] },
      { key: 'wk_server', snowplowAppIds: [] },
      { key: 'wk_other', snowplowAppIds: ['kiosk'] },
    ]);
    const withAppIds = new WriteKeyVerifier(entries);
    expect(withAppIds.writeKeyForAppId('shop-ios')).toBe('wk_web');
    expect(withAppIds.writeKeyForAppId('kiosk')).toBe('wk_other');
    expect(withAppIds.writeKeyForAppId('wk_web')).toBeUndefined();
    expect(withAppIds.verify('wk_server')).toBe(true);
    // An app id is not a key: it opens nothing but Snowplow's routes.
    expect(withAppIds.verify('shop-web')).toBe(false);
    expect(() => parseWriteKeys('aid=shop-web wk_web')).toThrow(/must follow the write key/);
    expect(() => new WriteKeyVerifier(parseWriteKeys('wk_a aid=x, wk_b aid=x'))).toThrow(/tied to two write keys/);
  });
});
