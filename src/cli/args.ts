import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';
import { formatHostPort, parseHostPort, type Address } from '../util/address.js';
import { PRESET_NAMES, type PresetName } from '../agent/config.js';

/**
 * Argument parsers for commander options. Each throws commander's
 * InvalidArgumentError with a one-line reason; the program turns it into
 * "shoal: error: ..." and exit code 2.
 */
export function parseAddressArg(value: string, options: { allowZeroPort?: boolean } = {}): Address {
  if (!/:\d+$/.test(value)) throw new InvalidArgumentError(`"${value}" is not HOST:PORT`);
  let hp;
  try {
    hp = parseHostPort(value);
  } catch {
    throw new InvalidArgumentError(`"${value}" is not HOST:PORT with a port 0..65535`);
  }
  if (hp.host.length === 0 || /\s/.test(hp.host)) throw new InvalidArgumentError(`"${value}" has no valid host`);
  if (!options.allowZeroPort && hp.port === 0) throw new InvalidArgumentError(`"${value}": port must be 1..65535`);
  return formatHostPort(hp);
}

export const parseBindArg = (value: string): Address => parseAddressArg(value, { allowZeroPort: true });

/** --http of the client commands: HOST:PORT, or http:// or https:// before it (kept: it picks the scheme). */
export function parseApiAddressArg(value: string): string {
  const m = /^(https?:\/\/)(.*)$/i.exec(value);
  if (m === null) return parseAddressArg(value);
  return m[1]!.toLowerCase() + parseAddressArg(m[2]!.replace(/\/$/, ''));
}

/** A token's text: visible ASCII, no spaces (it travels in an HTTP header). */
export function parseTokenArg(value: string): string {
  if (!/^[\x21-\x7e]+$/.test(value)) throw new InvalidArgumentError('a token is visible ASCII characters without spaces');
  return value;
}

/** --api-token-file: the token is the file's first line, trimmed. */
export function readTokenFileArg(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InvalidArgumentError(`cannot read ${file}: ${(e as Error).message}`);
  }
  return parseTokenArg(text.split(/\r?\n/)[0]!.trim());
}
export const parsePeerArg = (value: string): Address => parseAddressArg(value);

/** Repeatable --join: collects into a list. */
export function collectPeerArg(value: string, previous: Address[] | undefined): Address[] {
  return [...(previous ?? []), parsePeerArg(value)];
}

/** "k=v,k2=v2" -> { k: 'v', k2: 'v2' }. Values may contain '='; keys may not be empty or repeated. */
export function parseTagsArg(value: string): Record<string, string> {
  const tags: Record<string, string> = {};
  if (value.trim() === '') return tags;
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new InvalidArgumentError(`tag "${part}" is not KEY=VALUE`);
    const key = part.slice(0, eq).trim();
    if (key.length === 0) throw new InvalidArgumentError(`tag "${part}" has an empty key`);
    if (key in tags) throw new InvalidArgumentError(`tag "${key}" given twice`);
    tags[key] = part.slice(eq + 1).trim();
  }
  return tags;
}

export function parsePresetArg(value: string): PresetName {
  if (!(PRESET_NAMES as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`unknown preset "${value}" (expected ${PRESET_NAMES.join(', ')})`);
  }
  return value as PresetName;
}

export function parseCountArg(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`"${value}" is not an integer in ${min}..${max}`);
    return n;
  };
}

export function parsePortArg(value: string): number {
  return parseCountArg(0, 65535)(value);
}
