/** The warnings `shoal agent` prints at start about exposed ports. */
import test from 'ava';
import { startWarnings, type ExposureSettings } from '../../../src/cli/warnings.js';

const base: ExposureSettings = { bind: { host: '127.0.0.1', port: 7946 }, gossipKey: false, http: '127.0.0.1:7947', apiToken: undefined, apiTls: false };

test('loopback everywhere: no warning', (t) => {
  t.deepEqual(startWarnings(base), []);
  t.deepEqual(startWarnings({ ...base, bind: { host: '::1', port: 1 }, http: 'localhost:7947' }), []);
  t.deepEqual(startWarnings({ ...base, http: undefined }), []);
});

test('gossip on a non-loopback address without an encryption key warns; with a key it does not', (t) => {
  for (const host of ['0.0.0.0', '10.0.0.5', '::']) {
    const w = startWarnings({ ...base, bind: { host, port: 7946 } });
    t.is(w.length, 1, host);
    t.regex(w[0]!, /^shoal: warning: gossip binds .* \(not loopback\) without an encryption key/);
  }
  t.deepEqual(startWarnings({ ...base, bind: { host: '0.0.0.0', port: 7946 }, gossipKey: true }), []);
});

test('the HTTP API on a non-loopback address warns without a token, and with a token but without TLS', (t) => {
  const open = startWarnings({ ...base, http: '0.0.0.0:7947' });
  t.is(open.length, 1);
  t.regex(open[0]!, /HTTP API listens on 0\.0\.0\.0:7947 \(not loopback\) without --api-token/);
  const clear = startWarnings({ ...base, http: '10.0.0.5:7947', apiToken: 'x'.repeat(16) });
  t.is(clear.length, 1);
  t.regex(clear[0]!, /without TLS/);
  t.deepEqual(startWarnings({ ...base, http: '10.0.0.5:7947', apiToken: 'x'.repeat(16), apiTls: true }), []);
  t.deepEqual(startWarnings({ ...base, apiToken: 'x'.repeat(16) }), [], 'loopback needs neither');
});
