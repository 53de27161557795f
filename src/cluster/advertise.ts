/**
 * The one address a member advertises (gossip UDP and cluster TCP share its
 * port). In order: `--advertise`; else the bind address; else, for a
 * wildcard bind, the local address of the route to the first seed (the
 * address that seed sees us from); else the first non-loopback interface
 * address. A loopback address is never advertised unless the bind is
 * loopback: other hosts cannot reach it.
 */
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import * as os from 'node:os';
import { formatHostPort, parseHostPort, type Address, type HostPort } from '../util/address.js';
import { ErrorCode, ShoalError } from '../util/errors.js';

export function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

function invalid(field: string, why: string): ShoalError {
  return new ShoalError(ErrorCode.InvalidConfig, `invalid config: ${field} ${why}`, { details: { field } });
}

/**
 * Check an explicit advertise address against the bind: an IP literal, not
 * a wildcard, port 1..65535, loopback only with a loopback bind. Throws
 * ERR_INVALID_CONFIG naming `field` (the flag or config key).
 */
export function checkAdvertise(field: string, advertise: Address, bind: HostPort): HostPort {
  let hp: HostPort;
  try {
    hp = parseHostPort(advertise);
  } catch {
    throw invalid(field, `must be "IP:PORT" (got "${advertise}")`);
  }
  if (net.isIP(hp.host) === 0) throw invalid(field, `must be an IP address other members can reach (got "${hp.host}")`);
  if (isWildcardHost(hp.host)) throw invalid(field, `cannot be the wildcard ${hp.host}: other members cannot dial it`);
  if (hp.port === 0) throw invalid(field, `needs a port 1..65535 (got "${advertise}")`);
  if (isLoopbackHost(hp.host) && !isLoopbackHost(bind.host)) {
    throw invalid(field, `is loopback (${hp.host}) but the bind ${formatHostPort(bind)} is not: other hosts cannot reach it`);
  }
  return hp;
}

/** The local address the kernel would send from to reach `seed` (no packet is sent: a UDP connect only picks the route). */
export async function localAddressToward(seed: HostPort): Promise<string | undefined> {
  if (net.isIP(seed.host) === 0) return undefined;
  const socket = dgram.createSocket(net.isIPv6(seed.host) ? 'udp6' : 'udp4');
  try {
    return await new Promise<string | undefined>((resolve) => {
      socket.once('error', () => resolve(undefined));
      socket.connect(seed.port === 0 ? 7946 : seed.port, seed.host, () => {
        try {
          resolve(socket.address().address);
        } catch {
          resolve(undefined);
        }
      });
    });
  } finally {
    socket.close();
  }
}

/** The first non-internal IPv4 address of this host, else the first non-internal IPv6 one. */
export function firstInterfaceAddress(interfaces: ReturnType<typeof os.networkInterfaces> = os.networkInterfaces()): string | undefined {
  let v6: string | undefined;
  for (const addrs of Object.values(interfaces)) {
    for (const a of addrs ?? []) {
      if (a.internal || isLoopbackHost(a.address)) continue;
      if (a.family === 'IPv4') return a.address;
      if (v6 === undefined && !a.address.startsWith('fe80:')) v6 = a.address;
    }
  }
  return v6;
}

export interface AdvertiseChoice {
  host: string;
  /** Where the host came from, for the start-up log line. */
  source: 'advertise' | 'bind' | 'seed-route' | 'interface';
}

/**
 * Pick the host to advertise for a bind (the port is the bound port).
 * Throws ERR_INVALID_CONFIG when a wildcard bind leaves no routable address.
 */
export async function chooseAdvertiseHost(bind: HostPort, advertise: HostPort | undefined, seeds: readonly HostPort[]): Promise<AdvertiseChoice> {
  if (advertise !== undefined) return { host: advertise.host, source: 'advertise' };
  if (!isWildcardHost(bind.host)) return { host: bind.host, source: 'bind' };
  for (const seed of seeds) {
    const local = await localAddressToward(seed);
    if (local !== undefined && !isWildcardHost(local) && !isLoopbackHost(local)) return { host: local, source: 'seed-route' };
  }
  const first = firstInterfaceAddress();
  if (first !== undefined) return { host: first, source: 'interface' };
  throw invalid('bind', `is the wildcard ${bind.host} but this host has no non-loopback address to advertise: set --advertise IP:PORT`);
}
