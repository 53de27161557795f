/**
 * How a client command reaches the agent: --http (HOST:PORT or
 * http(s)://HOST:PORT), --token (else $SHOAL_HTTP_TOKEN, else
 * $SHOAL_API_TOKEN), --https, --ca FILE (trust this CA; implies HTTPS).
 */
import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import type { ApiClientOptions } from '../api/http-transport.js';
import { parseApiAddressArg, parseTokenArg } from './args.js';
import { UsageError } from './io.js';
import { AgentDefaults } from '../agent/config.js';

export const DEFAULT_HTTP = `127.0.0.1:${AgentDefaults.httpPort}`;

/** The flags every client command takes. */
export interface ClientFlags {
  http: string;
  token?: string;
  https?: boolean;
  ca?: string;
}

/** --http of the client commands: the agent's HTTP API. */
export const httpOption = (): Option =>
  new Option('--http <ADDR>', 'HTTP API of the agent: HOST:PORT or http(s)://HOST:PORT').default(DEFAULT_HTTP).argParser(parseApiAddressArg);

/** Adds --http, --token, --https and --ca to a client command. */
export function addClientOptions(command: Command): Command {
  return command
    .addOption(httpOption())
    .addOption(new Option('--token <TOKEN>', 'API token (default: $SHOAL_HTTP_TOKEN, else $SHOAL_API_TOKEN)').argParser(parseTokenArg))
    .option('--https', 'use HTTPS (also implied by an https:// address or --ca)')
    .option('--ca <FILE>', 'PEM file of the CA to trust for HTTPS (e.g. the agent\'s self-signed certificate)');
}

export function clientOptions(flags: ClientFlags, env: NodeJS.ProcessEnv = process.env): ApiClientOptions {
  const token = flags.token ?? (env.SHOAL_HTTP_TOKEN || env.SHOAL_API_TOKEN || undefined);
  const options: ApiClientOptions = {};
  if (token !== undefined) options.token = parseTokenEnv(token);
  if (flags.https === true) options.https = true;
  if (flags.ca !== undefined) {
    try {
      options.ca = readFileSync(flags.ca);
    } catch (e) {
      throw new UsageError(`--ca: cannot read ${flags.ca}: ${(e as Error).message}`);
    }
  }
  if (/^http:\/\//i.test(flags.http) && (options.https || options.ca !== undefined)) {
    throw new UsageError(`--http ${flags.http} is http:// but --https or --ca asks for HTTPS`);
  }
  return options;
}

function parseTokenEnv(token: string): string {
  try {
    return parseTokenArg(token);
  } catch (e) {
    throw new UsageError(`the API token: ${(e as Error).message}`);
  }
}
