/**
 * Helpers of the cluster-transport tests: real ClusterNetTransports on
 * 127.0.0.1 port 0, and raw sockets that speak (or half-speak) the handshake
 * the way a stranger, a flood or a broken peer would.
 */
import type { ExecutionContext } from 'ava';
import * as net from 'node:net';
import { decodeHandshake, encodeHandshake, protocolVersion, type Handshake } from '../../../src/cluster/handshake-codec.js';
import type { KnownMember, NodeIdentity } from '../../../src/cluster/identity.js';
import type { ClusterLimits } from '../../../src/cluster/limits.js';
import { ClusterNetTransport } from '../../../src/cluster/net-transport.js';
import type { SecurityOptions } from '../../../src/cluster/security.js';
import { parseHostPort, type Address } from '../../../src/util/address.js';
import { waitUntil } from '../../integration/wait.js';

export const loopback = '127.0.0.1';

/** Polls every 10 ms: the conditions awaited here change within milliseconds. */
export function eventually(cond: () => boolean, timeoutMs = 5_000): Promise<boolean> {
  return waitUntil(cond, timeoutMs, 10);
}

export interface NodeSpec {
  name: string;
  nodeId?: string;
  clusterLabel?: string;
  clusterId?: string;
  known?(name: string): KnownMember | undefined;
  limits?: Partial<ClusterLimits>;
  /** Bind to this port (default 0: any port free for UDP and TCP). */
  port?: number;
  /** Gossip encryption (keyring and verify switches). */
  security?: SecurityOptions;
}

/** A transport on 127.0.0.1, closed when the test ends. */
export async function startNode(t: ExecutionContext, spec: NodeSpec): Promise<ClusterNetTransport> {
  const node = await ClusterNetTransport.listen({
    bind: { host: loopback, port: spec.port ?? 0 },
    identity: { clusterLabel: spec.clusterLabel ?? '', clusterId: spec.clusterId ?? '', name: spec.name, nodeId: spec.nodeId ?? `${spec.name}-id` },
    advertise: (port) => `${loopback}:${port}`,
    known: spec.known,
    limits: spec.limits,
    ...(spec.security === undefined ? {} : { security: spec.security }),
  });
  t.teardown(() => node.close());
  return node;
}

/** A port that nobody listens on right now (bound once and released). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen({ host: loopback, port: 0 }, resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A raw TCP socket to `addr`, connected; errors are swallowed (the server may reset it). */
export function rawConnect(addr: Address, localAddress?: string): Promise<net.Socket> {
  const { host, port } = parseHostPort(addr);
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port, localAddress });
    s.once('connect', () => {
      s.off('error', reject);
      s.on('error', () => undefined);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** Resolves once the socket is closed (at once if it already is). */
export function socketClosed(s: net.Socket): Promise<void> {
  if (s.closed) return Promise.resolve();
  return new Promise((resolve) => s.once('close', () => resolve()));
}

/** The handshake frame a dialer with this identity sends: u32 length, then the body. */
export function helloFrame(identity: NodeIdentity, version = protocolVersion): Buffer {
  const body = encodeHandshake({ version, identity, refuseReason: '', refuseMessage: '', nonce: new Uint8Array(0) });
  const out = Buffer.alloc(4 + body.length);
  out.writeUInt32BE(body.length, 0);
  out.set(body, 4);
  return out;
}

/** Read the first length-prefixed frame off a raw socket (the listener's answer to a hello). */
export function readFirstFrame(s: net.Socket, timeoutMs = 5_000): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new Error('no handshake answer in time')), timeoutMs);
    const finish = (err: Error | undefined, h?: Handshake): void => {
      clearTimeout(timer);
      s.off('data', onData);
      s.off('close', onClose);
      if (err !== undefined) reject(err);
      else resolve(h!);
    };
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length < 4 || buf.length < 4 + buf.readUInt32BE(0)) return;
      const decoded = decodeHandshake(buf.subarray(4, 4 + buf.readUInt32BE(0)));
      if (decoded.ok) finish(undefined, decoded.handshake);
      else finish(decoded.error);
    };
    const onClose = (): void => finish(new Error('closed before the handshake answer'));
    s.on('data', onData);
    s.once('close', onClose);
  });
}

/** A raw socket through a handshake with `addr` under `identity`; resolves with the listener's answer. */
export async function rawHandshake(addr: Address, identity: NodeIdentity): Promise<{ socket: net.Socket; answer: Handshake }> {
  const socket = await rawConnect(addr);
  const answer = readFirstFrame(socket);
  socket.write(helloFrame(identity));
  return { socket, answer: await answer };
}

/** A frame after the handshake: u32 length, type, kind, u32 request id, payload. */
export function rawFrame(type: number, kind: number, requestId: number, payload: Uint8Array): Buffer {
  const out = Buffer.alloc(4 + 6 + payload.length);
  out.writeUInt32BE(6 + payload.length, 0);
  out[4] = type;
  out[5] = kind;
  out.writeUInt32BE(requestId, 6);
  out.set(payload, 10);
  return out;
}

export function bytes(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s));
}

export function text(b: Uint8Array): string {
  return Buffer.from(b).toString();
}
