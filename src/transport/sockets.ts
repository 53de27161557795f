/**
 * Binding the agent's one port: a TCP listener and a UDP socket on the same
 * host and port number (the cluster transport, src/cluster/net-transport.ts,
 * runs both). Errors are returned as rejections, never thrown into the loop.
 */
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import * as tls from 'node:tls';

/** Pending connections the kernel queues before accept: a burst of peers (or strangers) does not get RSTs. */
const listenBacklog = 1024;

export function listenTcp(host: string, port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer({ noDelay: true });
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen({ host, port, exclusive: true, backlog: listenBacklog }, () => {
      server.off('error', onError);
      resolve(server);
    });
  });
}

export function bindUdp(host: string, port: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket({ type: net.isIPv6(host) ? 'udp6' : 'udp4' });
    const onError = (err: Error): void => {
      socket.close();
      reject(err);
    };
    socket.once('error', onError);
    socket.bind({ address: host, port, exclusive: true }, () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

export function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A TLS listener (the cluster transport under mutual TLS): same port rules as listenTcp. */
export function listenTls(host: string, port: number, options: tls.TlsOptions): Promise<tls.Server> {
  return new Promise((resolve, reject) => {
    const server = tls.createServer({ ...options, noDelay: true } as tls.TlsOptions);
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen({ host, port, exclusive: true, backlog: listenBacklog }, () => {
      server.off('error', onError);
      resolve(server);
    });
  });
}
