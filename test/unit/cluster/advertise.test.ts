/**
 * The advertised address (advertise.ts): an explicit one is checked against
 * the bind; without one the order is bind, seed route, interface, and a
 * loopback address is never advertised for a bind other hosts can reach.
 */
import test from 'ava';
import type * as os from 'node:os';
import { checkAdvertise, chooseAdvertiseHost, firstInterfaceAddress, isLoopbackHost, localAddressToward } from '../../../src/cluster/advertise.js';
import { ErrorCode, ShoalError } from '../../../src/util/errors.js';

const wildcard = { host: '0.0.0.0', port: 7946 };
const lanBind = { host: '192.168.1.5', port: 7946 };
const loopBind = { host: '127.0.0.1', port: 7946 };

type Interfaces = ReturnType<typeof os.networkInterfaces>;

function iface(address: string, family: 'IPv4' | 'IPv6', internal = false): os.NetworkInterfaceInfo {
  const common = { address, netmask: '', mac: '00:00:00:00:00:00', internal, cidr: null };
  return family === 'IPv4' ? { ...common, family } : { ...common, family, scopeid: 0 };
}

function refusal(t: import('ava').ExecutionContext, field: string, f: () => unknown, mentions: RegExp): void {
  const e = t.throws(f, { instanceOf: ShoalError });
  if (e === undefined) return;
  t.is((e as ShoalError).code, ErrorCode.InvalidConfig);
  t.true(e.message.includes(field), `names the field: ${e.message}`);
  t.is((e as ShoalError).details?.field, field);
  t.regex(e.message, mentions);
}

test('checkAdvertise refuses a hostname', (t) => {
  refusal(t, '--advertise', () => checkAdvertise('--advertise', 'node1.example.com:7946', wildcard), /IP address/);
  refusal(t, 'advertise', () => checkAdvertise('advertise', 'localhost:7946', loopBind), /IP address/);
});

test('checkAdvertise refuses a wildcard address', (t) => {
  refusal(t, '--advertise', () => checkAdvertise('--advertise', '0.0.0.0:7946', wildcard), /wildcard/);
  refusal(t, '--advertise', () => checkAdvertise('--advertise', '[::]:7946', wildcard), /wildcard/);
});

test('checkAdvertise refuses port 0 and a missing or bad port', (t) => {
  refusal(t, 'cluster.advertise', () => checkAdvertise('cluster.advertise', '10.0.0.1:0', wildcard), /port/);
  refusal(t, 'cluster.advertise', () => checkAdvertise('cluster.advertise', '10.0.0.1', wildcard), /IP:PORT/);
  refusal(t, 'cluster.advertise', () => checkAdvertise('cluster.advertise', '10.0.0.1:70000', wildcard), /IP:PORT/);
});

test('checkAdvertise refuses a loopback address with a bind other hosts can reach', (t) => {
  refusal(t, '--advertise', () => checkAdvertise('--advertise', '127.0.0.1:7946', wildcard), /loopback/);
  refusal(t, '--advertise', () => checkAdvertise('--advertise', '127.0.1.1:7946', lanBind), /loopback/);
  refusal(t, '--advertise', () => checkAdvertise('--advertise', '[::1]:7946', { host: '::', port: 7946 }), /loopback/);
});

test('checkAdvertise accepts loopback with a loopback bind, and a routable address with any bind', (t) => {
  t.deepEqual(checkAdvertise('--advertise', '127.0.0.1:7946', loopBind), { host: '127.0.0.1', port: 7946 });
  t.deepEqual(checkAdvertise('--advertise', '127.0.0.2:8000', loopBind), { host: '127.0.0.2', port: 8000 });
  t.deepEqual(checkAdvertise('--advertise', '[::1]:7946', { host: '::1', port: 7946 }), { host: '::1', port: 7946 });
  t.deepEqual(checkAdvertise('--advertise', '10.0.0.1:7946', wildcard), { host: '10.0.0.1', port: 7946 });
  t.deepEqual(checkAdvertise('--advertise', '[fd00::5]:7946', lanBind), { host: 'fd00::5', port: 7946 });
});

test('chooseAdvertiseHost: an explicit advertise address wins over the bind and the seeds', async (t) => {
  const seeds = [{ host: '127.0.0.1', port: 7946 }];
  t.deepEqual(await chooseAdvertiseHost(lanBind, { host: '10.9.9.9', port: 7946 }, seeds), { host: '10.9.9.9', source: 'advertise' });
  t.deepEqual(await chooseAdvertiseHost(wildcard, { host: '10.9.9.9', port: 7946 }, seeds), { host: '10.9.9.9', source: 'advertise' });
});

test('chooseAdvertiseHost: then a bind that is not a wildcard', async (t) => {
  t.deepEqual(await chooseAdvertiseHost(lanBind, undefined, [{ host: '10.1.1.1', port: 7946 }]), { host: '192.168.1.5', source: 'bind' });
  t.deepEqual(await chooseAdvertiseHost(loopBind, undefined, []), { host: '127.0.0.1', source: 'bind' });
});

test('chooseAdvertiseHost: then the route to a seed, from a wildcard bind', async (t) => {
  const own = firstInterfaceAddress();
  if (own === undefined) {
    t.pass('this host has no non-loopback address: no route to test');
    return;
  }
  // The route to one of this host's own addresses leaves from that address.
  t.is(await localAddressToward({ host: own, port: 7946 }), own);
  t.deepEqual(await chooseAdvertiseHost(wildcard, undefined, [{ host: own, port: 7946 }]), { host: own, source: 'seed-route' });
  // A hostname seed has no route without DNS: skipped, the next seed decides.
  t.deepEqual(await chooseAdvertiseHost(wildcard, undefined, [{ host: 'seed.invalid', port: 7946 }, { host: own, port: 7946 }]), { host: own, source: 'seed-route' });
});

test('chooseAdvertiseHost: a loopback seed route is never advertised for a wildcard bind', async (t) => {
  // The route to 127.0.0.1 leaves from 127.0.0.1: advertising it would tell other hosts to dial themselves.
  t.is(await localAddressToward({ host: '127.0.0.1', port: 7946 }), '127.0.0.1');
  for (const bind of [wildcard, { host: '::', port: 7946 }]) {
    for (const seeds of [[{ host: '127.0.0.1', port: 7946 }], [{ host: '::1', port: 7946 }], [{ host: '127.0.0.1', port: 0 }]]) {
      const expected = firstInterfaceAddress();
      if (expected === undefined) {
        await t.throwsAsync(chooseAdvertiseHost(bind, undefined, seeds), { instanceOf: ShoalError, code: ErrorCode.InvalidConfig });
        continue;
      }
      const choice = await chooseAdvertiseHost(bind, undefined, seeds);
      t.false(isLoopbackHost(choice.host), `${bind.host} with seed ${seeds[0].host} chose ${choice.host}`);
      t.deepEqual(choice, { host: expected, source: 'interface' });
    }
  }
});

test('chooseAdvertiseHost: then the first interface address, without seeds', async (t) => {
  const expected = firstInterfaceAddress();
  if (expected === undefined) {
    await t.throwsAsync(chooseAdvertiseHost(wildcard, undefined, []), { instanceOf: ShoalError, code: ErrorCode.InvalidConfig });
    return;
  }
  t.deepEqual(await chooseAdvertiseHost(wildcard, undefined, []), { host: expected, source: 'interface' });
});

test('firstInterfaceAddress skips internal and loopback addresses and prefers IPv4', (t) => {
  const ifs: Interfaces = {
    lo: [iface('127.0.0.1', 'IPv4', true), iface('::1', 'IPv6', true)],
    // A loopback address that the kernel does not flag internal (a dummy interface) is still loopback.
    dummy0: [iface('127.0.0.53', 'IPv4'), iface('::1', 'IPv6')],
    eth0: [iface('fe80::1', 'IPv6'), iface('fd00::2', 'IPv6'), iface('192.0.2.2', 'IPv4')],
    eth1: [iface('198.51.100.7', 'IPv4')],
  };
  t.is(firstInterfaceAddress(ifs), '192.0.2.2');
});

test('firstInterfaceAddress falls back to a routable IPv6 address, never link-local, and to nothing', (t) => {
  t.is(firstInterfaceAddress({ lo: [iface('127.0.0.1', 'IPv4', true)], eth0: [iface('fe80::1', 'IPv6'), iface('fd00::2', 'IPv6')] }), 'fd00::2');
  t.is(firstInterfaceAddress({ lo: [iface('127.0.0.1', 'IPv4', true), iface('::1', 'IPv6', true)], eth0: [iface('fe80::1', 'IPv6')] }), undefined);
  t.is(firstInterfaceAddress({ eth0: [iface('10.0.0.1', 'IPv4', true)] }), undefined, 'internal is skipped whatever the address');
  t.is(firstInterfaceAddress({}), undefined);
});
