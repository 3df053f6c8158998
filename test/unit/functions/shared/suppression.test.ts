import { GetObjectCommand, NoSuchKey, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { idHash, personIdsOf, SuppressionCache, SuppressionList } from '../../../../functions/shared/suppression.js';

const s3 = mockClient(S3Client);
afterEach(() => s3.reset());
const listBody = (list: SuppressionList) => ({ Body: { transformToString: async () => JSON.stringify(list.with({}, 'now')) } }) as never;

describe('SuppressionList', () => {
  const list = new SuppressionList(SuppressionList.EMPTY.with({ user: ['u'], anonymous: ['a'], linked: ['l'] }, 'now'));

  it('erases by userId, anonymousId, alias previousId, and a linked anonymousId only without another userId', () => {
    expect(list.erases({ userId: 'u', anonymousId: 'x' })).toBe(true);
    expect(list.erases({ userId: 'y', anonymousId: 'a' })).toBe(true);
    expect(list.erases({ userId: 'y', previousId: 'u' })).toBe(true);
    expect(list.erases({ anonymousId: 'l' })).toBe(true);
    expect(list.erases({ userId: 'y', anonymousId: 'l' })).toBe(false);
    expect(list.erases({ userId: 'y', anonymousId: 'x' })).toBe(false);
    expect(list.erasesVisitor('l')).toBe(true);
    expect(list.erasesVisitor('y')).toBe(false);
  });

  it('keeps hashes only, and reads the ids of Segment events, numeric ids and unmapped tracker events', () => {
    expect(JSON.stringify(list.with({}, 'now'))).not.toMatch(/"u"|"a"|"l"/);
    expect(idHash('u')).toMatch(/^[0-9a-f]{32}$/);
    expect(personIdsOf({ userId: 42, anonymousId: 'x' })).toEqual({ userId: '42', anonymousId: 'x', previousId: undefined });
    expect(personIdsOf({ adapterFailure: { protocol: 'snowplow', reason: 'r', receivedAt: 'now', parameters: { uid: 'u', nuid: 'n' } } })).toEqual({ userId: 'u', anonymousId: 'n' });
    expect(personIdsOf('not an object')).toEqual({});
  });
});

describe('SuppressionCache', () => {
  it('reads the list at most once a refresh, treats a missing object as nobody erased, and keeps the last list when S3 fails', async () => {
    let now = 0;
    const cache = new SuppressionCache({ s3: new S3Client({ region: 'us-east-1' }), bucket: 'lake', refreshSeconds: 60, now: () => now });
    s3.on(GetObjectCommand).rejectsOnce(new NoSuchKey({ message: 'missing', $metadata: {} }));
    expect((await cache.current()).size).toBe(0);
    s3.on(GetObjectCommand).resolves(listBody(new SuppressionList(SuppressionList.EMPTY.with({ user: ['u'] }, 'now'))));
    expect((await cache.current()).size).toBe(0); // within the refresh
    now += 60_000;
    expect((await cache.current()).size).toBe(1);
    s3.on(GetObjectCommand).rejects(new Error('S3 is down'));
    now += 60_000;
    expect((await cache.current()).erases({ userId: 'u' })).toBe(true);
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(3);
  });

  it('fails when the first read fails: a consumer that cannot know who was erased must not store anything', async () => {
    s3.on(GetObjectCommand).rejects(new Error('S3 is down'));
    const cache = new SuppressionCache({ s3: new S3Client({ region: 'us-east-1' }), bucket: 'lake' });
    await expect(cache.current()).rejects.toThrow('S3 is down');
  });
});
