import { ErrorCode, ShoalError } from './errors.js';

/** A network address as "host:port" (IPv6 as "[::1]:port"). */
export type Address = string;

export interface HostPort {
  host: string;
  port: number;
}

export function parseHostPort(s: string, defaultPort?: number): HostPort {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(s) ?? /^([^:]*)(?::(\d+))?$/.exec(s);
  if (!m) throw new ShoalError(ErrorCode.InvalidArgument, `invalid address "${s}": expected HOST:PORT`);
  const host = m[1] === '' ? '0.0.0.0' : m[1];
  const portText = m[2];
  const port = portText === undefined ? defaultPort : Number(portText);
  if (port === undefined || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ShoalError(ErrorCode.InvalidArgument, `invalid address "${s}": port must be 0..65535`);
  }
  return { host, port };
}

export function formatHostPort(hp: HostPort): Address {
  return hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}
