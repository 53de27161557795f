/**
 * Warnings `shoal agent` prints at start (stderr, one line each) about
 * settings that expose the cluster: they never stop the agent.
 */
import { isLoopbackListen } from '../api/auth.js';
import type { ResolvedAgentConfig } from '../agent/config.js';
import { formatHostPort, parseHostPort } from '../util/address.js';

export interface ExposureSettings {
  /** The gossip bind (UDP and TCP between agents). */
  bind: ResolvedAgentConfig['bind'];
  /** Whether traffic between agents is encrypted with a shared key. */
  gossipKey: boolean;
  http: string | undefined;
  apiToken: string | undefined;
  apiTls: boolean;
}

/** `protected`: the running agent's traffic between members is encrypted (a keyring in force, or mutual TLS). */
export function exposureOf(c: ResolvedAgentConfig, protectedTraffic: boolean): ExposureSettings {
  return { bind: c.bind, gossipKey: protectedTraffic, http: c.http, apiToken: c.apiToken, apiTls: c.apiTlsCert !== undefined };
}

export function startWarnings(s: ExposureSettings): string[] {
  const out: string[] = [];
  if (!isLoopbackListen(s.bind.host) && !s.gossipKey) {
    out.push(
      `shoal: warning: gossip binds ${formatHostPort(s.bind)} (not loopback) without an encryption key: ` +
        'anyone who can reach that port can read cluster traffic and join or disturb the cluster',
    );
  }
  if (s.http !== undefined && s.http !== '') {
    const host = parseHostPort(s.http).host;
    if (!isLoopbackListen(host) && s.apiToken === undefined) {
      out.push(`shoal: warning: the HTTP API listens on ${s.http} (not loopback) without --api-token: anyone who can reach it can read and change the cluster`);
    } else if (!isLoopbackListen(host) && !s.apiTls) {
      out.push(`shoal: warning: the HTTP API listens on ${s.http} (not loopback) without TLS: tokens and config cross the network in clear (--api-tls-cert, --api-tls-key)`);
    }
  }
  return out;
}
