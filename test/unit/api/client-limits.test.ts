/**
 * The per-client tables on their own (no sockets, time passed in): the
 * token bucket's rate, burst and Retry-After, the bound on the bucket table
 * under a flood of distinct clients, the lease ledger's reservations and
 * expiry, who a request counts as, and which counter each refusal moves.
 */
import test from 'ava';
import { addressClient, ClientLimiter, defaultClientLimits, resolveClientLimits } from '../../../src/api/client-limits.js';
import { HttpError } from '../../../src/api/config-http.js';
import { LeaseLedger } from '../../../src/api/lease-ledger.js';
import { limitHit, newLimitStats, type LimitStats } from '../../../src/api/limit-stats.js';
import { RateBuckets } from '../../../src/api/rate-buckets.js';
import { storeLimits } from '../../../src/control/store/limits.js';
import { ErrorCode, isShoalError, ShoalError } from '../../../src/util/errors.js';

test('a bucket allows its burst at once, then its rate; Retry-After is the wait for one token', (t) => {
  const b = new RateBuckets({ perSecond: 10, burstMax: 20, clientsMax: 100 });
  for (let i = 0; i < 20; i++) t.true(b.take('a', 0).ok, `request ${i} of the burst`);
  const refused = b.take('a', 0);
  t.deepEqual(refused, { ok: false, retryAfterMs: 100 });
  t.deepEqual(b.take('a', 50), { ok: false, retryAfterMs: 50 }, 'half a token back after 50 ms');
  t.true(b.take('a', 100).ok, 'one token back after 100 ms');
  t.false(b.take('a', 100).ok);
  // Idle for a long time: refilled to the burst, never past it.
  for (let i = 0; i < 20; i++) t.true(b.take('a', 60_000).ok);
  t.false(b.take('a', 60_000).ok);
  // Another client has its own bucket.
  t.true(b.take('b', 60_000).ok);
  // A clock that steps back neither refills nor fails.
  t.false(b.take('a', 0).ok);
});

test('the bucket table stays bounded under 20,000 distinct clients; the least recently used are evicted', (t) => {
  const b = new RateBuckets({ perSecond: 1, burstMax: 2, clientsMax: 10_000 });
  // A client that used up its burst and is used again recently keeps its (empty) bucket.
  t.true(b.take('hot', 0).ok);
  t.true(b.take('hot', 0).ok);
  for (let i = 0; i < 20_000; i++) {
    t.true(b.take(`ip 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, 1).ok);
    if (i % 5_000 === 0) t.false(b.take('hot', 1).ok, 'hot stays refused while recently used');
    t.true(b.size <= 10_000);
  }
  t.is(b.size, 10_000);
  t.is(b.evicted, 20_000 + 1 - 10_000);
});

test('ClientLimiter: default limits, 20,000 fake source addresses, the table and evictions counted', (t) => {
  const stats = newLimitStats();
  let now = 0;
  const limiter = new ClientLimiter(resolveClientLimits({ loopbackExemptWithoutToken: false }), stats, () => now);
  for (let i = 0; i < 20_000; i++) {
    const client = limiter.clientOf(false, '', `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);
    t.not(client, undefined);
    limiter.admit(client);
    now += 0.01;
  }
  t.is(limiter.clients, defaultClientLimits.clientsMax);
  t.is(stats.clientsEvicted, 20_000 - defaultClientLimits.clientsMax);
  // One client's burst, then 429 ERR_RATE_LIMITED naming the limit and the wait.
  for (let i = 0; i < defaultClientLimits.requestBurstMax; i++) limiter.admit('ip 192.0.2.1');
  const e = t.throws(() => limiter.admit('ip 192.0.2.1'));
  t.true(e instanceof HttpError);
  t.is((e as HttpError).status, 429);
  t.is((e as HttpError).code, ErrorCode.RateLimited);
  t.like((e as HttpError).details, { limit: 'requestsPerSecond', retryAfterMs: 5 });
  t.is(limitHit(e), 'rateLimited');
});

test('who a request counts as: its token with tokens on; else its address (IPv6 by /64), loopback exempt unless told', (t) => {
  const limiter = new ClientLimiter(resolveClientLimits(), newLimitStats(), () => 0);
  t.is(limiter.clientOf(true, '', '10.0.0.1'), 'management token');
  t.is(limiter.clientOf(true, 'abc', '10.0.0.1'), 'token abc');
  t.is(limiter.clientOf(true, 'abc', '10.0.0.2'), 'token abc', 'one token from two addresses is one client');
  t.is(limiter.clientOf(true, 'abc', '127.0.0.1'), 'token abc', 'loopback is not exempt with tokens on');
  t.is(limiter.clientOf(false, '', '10.0.0.1'), 'ip 10.0.0.1');
  t.is(limiter.clientOf(false, '', '::ffff:10.0.0.1'), 'ip 10.0.0.1');
  t.is(limiter.clientOf(false, '', '127.0.0.1'), undefined);
  t.is(limiter.clientOf(false, '', '127.3.4.5'), undefined);
  t.is(limiter.clientOf(false, '', '::1'), undefined);
  t.is(limiter.clientOf(false, '', '::ffff:127.0.0.1'), undefined);
  const strict = new ClientLimiter(resolveClientLimits({ loopbackExemptWithoutToken: false }), newLimitStats(), () => 0);
  t.is(strict.clientOf(false, '', '127.0.0.1'), 'ip 127.0.0.1');
  t.is(strict.clientOf(false, '', '::1'), 'ip ::1');
  t.is(addressClient('2001:db8:1:2:aaaa::1'), 'ip 2001:db8:1:2::/64');
  t.is(addressClient('2001:db8:1:2:bbbb:cccc:dddd:eeee'), 'ip 2001:db8:1:2::/64', 'one /64 is one client');
  t.is(addressClient('2001:DB8:0001:0002::9%eth0'), 'ip 2001:db8:1:2::/64');
  t.is(addressClient('2001:db8::1'), 'ip 2001:db8:0:0::/64');
  t.is(addressClient('fe80::1:2:3:4'), 'ip fe80:0:0:0::/64');
  t.is(addressClient('::ffff:1.2.3.4'), 'ip 1.2.3.4');
  t.is(addressClient(undefined), undefined);
});

test('limits are validated: a bad field is ERR_INVALID_CONFIG naming it', (t) => {
  for (const bad of [{ requestsPerSecond: 0 }, { requestsPerSecond: Infinity }, { requestBurstMax: 0.5 }, { clientsMax: 1.5 }, { watchesPerClientMax: 0 }, { leasesPerClientMax: -1 }]) {
    const e = t.throws(() => resolveClientLimits(bad));
    t.true(isShoalError(e, ErrorCode.InvalidConfig));
    t.is((e as ShoalError).details?.field, `clientLimits.${Object.keys(bad)[0]}`);
  }
  t.is(resolveClientLimits({ requestsPerSecond: 1e6 }).requestsPerSecond, 1e6);
  t.is(resolveClientLimits().requestsPerSecond, 200);
});

test('lease ledger: reservations count, so concurrent grants cannot overshoot; revoke and expiry free room', (t) => {
  const l = new LeaseLedger({ perClientMax: 3, trackedMax: 100 });
  t.true(l.reserve('a', 0).ok);
  t.true(l.reserve('a', 0).ok);
  t.true(l.reserve('a', 0).ok);
  t.deepEqual(l.reserve('a', 0), { ok: false, limit: 'perClient' }, 'three grants in flight fill the quota');
  t.true(l.reserve('b', 0).ok, 'another client is unaffected');
  l.released('b');
  l.granted('a', 1, 10_000, 0);
  l.granted('a', 2, 10_000, 0);
  l.released('a');
  t.is(l.count('a', 0), 2);
  t.true(l.reserve('a', 0).ok);
  l.granted('a', 3, 1_000, 0);
  t.false(l.reserve('a', 500).ok);
  t.true(l.reserve('a', 1_000).ok, 'lease 3 ran out its TTL');
  l.released('a');
  l.keptAlive(1, 10_000, 9_000);
  t.is(l.count('a', 10_000), 1, 'lease 1 was kept alive, lease 2 ran out');
  l.forget(1);
  t.is(l.count('a', 10_000), 0);
  t.is(l.size, 0);
  t.throws(() => l.released('a'), { message: /no grant of a is reserved/ });
});

test('lease ledger: the table for all clients is bounded; expired leases are swept when it is full', (t) => {
  const l = new LeaseLedger({ perClientMax: 10, trackedMax: 4 });
  for (let i = 1; i <= 4; i++) {
    t.true(l.reserve(`c${i}`, 0).ok);
    l.granted(`c${i}`, i, 1_000, 0);
  }
  t.deepEqual(l.reserve('c5', 10), { ok: false, limit: 'tracked' });
  t.true(l.reserve('c5', 2_000).ok, 'all four expired and were swept');
  t.is(l.size, 1);
});

test('every refusal at a limit maps to its counter, other errors to none', (t) => {
  const cases: [unknown, keyof LimitStats | undefined][] = [
    [new HttpError(413, ErrorCode.BadRequest, 'body exceeds', { limitBytes: 10 }), 'bodyTooLarge'],
    [new HttpError(400, ErrorCode.InvalidArgument, 'k', { field: 'key', sizeBytes: 600, limitBytes: storeLimits.keyBytesMax }), 'keyTooLarge'],
    [new HttpError(400, ErrorCode.InvalidArgument, 'k', { field: 'success[0].put.key', sizeBytes: 600, limitBytes: 512 }), 'keyTooLarge'],
    [new HttpError(400, ErrorCode.InvalidArgument, 'p', { field: 'prefix', sizeBytes: 600, limitBytes: 512 }), 'keyTooLarge'],
    [new HttpError(400, ErrorCode.InvalidArgument, 'v', { field: 'compare[1].value', sizeBytes: 1, limitBytes: 1 }), 'valueTooLarge'],
    [new ShoalError(ErrorCode.InvalidArgument, 'v', { details: { field: 'success.value', sizeBytes: 1, limitBytes: 1 } }), 'valueTooLarge'],
    [new ShoalError(ErrorCode.BadRequest, 'r', { details: { field: 'request', sizeBytes: 2, limitBytes: 1 } }), 'txnTooLarge'],
    [new HttpError(400, ErrorCode.BadRequest, 'n', { field: 'success', count: 129, limit: storeLimits.txnOpsMax }), 'txnTooLarge'],
    [new HttpError(429, ErrorCode.ResourceExhausted, 'w', { limit: 'watchesPerClientMax', max: 64 }), 'watchesRefused'],
    [new HttpError(429, ErrorCode.ResourceExhausted, 'l', { limit: 'leasesPerClientMax', max: 1000 }), 'leasesRefused'],
    [new HttpError(429, ErrorCode.ResourceExhausted, 'l', { limit: 'leasesTrackedMax', max: 1000 }), 'leasesRefused'],
    [new HttpError(429, ErrorCode.ResourceExhausted, 't', { limit: 1000 }), 'tokensRefused'],
    [new ShoalError(ErrorCode.ResourceExhausted, 'store full'), 'capacityRefused'],
    [new ShoalError(ErrorCode.NoSpace, 'quota reached'), 'noSpace'],
    // Not limits: a bad character in a key, a missing key, a wrong token, a plain error.
    [new HttpError(400, ErrorCode.InvalidArgument, 'k', { field: 'key', index: 3 }), undefined],
    [new HttpError(404, ErrorCode.NotFound, 'missing'), undefined],
    [new HttpError(401, ErrorCode.Unauthenticated, 'who'), undefined],
    [new Error('boom'), undefined],
  ];
  for (const [e, counter] of cases) t.is(limitHit(e), counter, (e as Error).message);
});
