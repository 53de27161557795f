import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, ShoalError } from '../util/errors.js';
import { SeededRng } from '../util/rng.js';

/**
 * Seeds for simulation runs. Every run takes one 32-bit seed; a failure
 * names it with the command that replays it:
 *   SHOAL_SEED=N  run exactly seed N;
 *   SHOAL_SEEDS=K run K seeds (the defaults first, then derived ones).
 */

export const SeedLimits = {
  /** Most seeds SHOAL_SEEDS may ask for in one run. */
  seedsMax: 1_000_000,
} as const;

/** Base for seeds derived beyond the defaults ("shoal" in hex-ish). */
const DERIVED_SEED_BASE = 0x5b0a1;

type Env = Readonly<Record<string, string | undefined>>;

function parseSeed(name: string, text: string): number {
  const n = /^0x[0-9a-f]+$/i.test(text) ? Number.parseInt(text, 16) : Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new ShoalError(ErrorCode.InvalidConfig, `${name}="${text}" is not a 32-bit unsigned integer`);
  }
  return n;
}

/** SHOAL_SEED if set, else defaultSeed. */
export function seedFromEnv(defaultSeed: number, env: Env = process.env): number {
  const text = env.SHOAL_SEED;
  return text === undefined || text === '' ? defaultSeed : parseSeed('SHOAL_SEED', text);
}

/**
 * The seeds to run: [SHOAL_SEED] if set; else SHOAL_SEEDS=K seeds (the
 * defaults first, then distinct derived ones); else the defaults.
 */
export function seedsFromEnv(defaultSeeds: readonly number[], env: Env = process.env): number[] {
  const one = env.SHOAL_SEED;
  if (one !== undefined && one !== '') return [parseSeed('SHOAL_SEED', one)];
  const countText = env.SHOAL_SEEDS;
  if (countText === undefined || countText === '') return [...defaultSeeds];
  const count = Number(countText);
  if (!Number.isInteger(count) || count < 1 || count > SeedLimits.seedsMax) {
    throw new ShoalError(ErrorCode.InvalidConfig, `SHOAL_SEEDS="${countText}" must be an integer 1..${SeedLimits.seedsMax}`);
  }
  const seeds = defaultSeeds.slice(0, count);
  const seen = new Set(seeds);
  const rng = new SeededRng(DERIVED_SEED_BASE);
  while (seeds.length < count) {
    const s = rng.int(0x100000000);
    if (seen.has(s)) continue;
    seen.add(s);
    seeds.push(s);
  }
  return seeds;
}

/** The shell command that replays one seed of a test. */
export function replayCommand(seed: number, file: string, title: string): string {
  return `SHOAL_SEED=${seed} npx ava ${file} -m ${JSON.stringify(title)}`;
}

/** A simulation run failed; the message names the seed (and the replay command when known). */
export class SeedFailure extends Error {
  readonly seed: number;
  readonly replay: string | undefined;
  constructor(name: string, seed: number, cause: unknown, replay?: string) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(`${name} failed with seed=${seed}: ${why}${replay === undefined ? '' : `\n  replay: ${replay}`}`, { cause });
    this.name = 'SeedFailure';
    this.seed = seed;
    this.replay = replay;
  }
}

/** Run fn(seed) (sync or async); rethrow any failure as a SeedFailure naming the seed. */
export function withSeed<R>(name: string, seed: number, fn: (seed: number) => R, replay?: string): R {
  let result: R;
  try {
    result = fn(seed);
  } catch (e) {
    throw new SeedFailure(name, seed, e, replay);
  }
  if (result instanceof Promise) {
    return result.catch((e: unknown) => {
      throw new SeedFailure(name, seed, e, replay);
    }) as R;
  }
  return result;
}

/** What simTest needs of ava's `test` (passed in so src/ never imports a test runner). */
export interface TestRegistrar<T> {
  (title: string, impl: (t: T) => void | Promise<void>): void;
  /** Registers a test that runs alone (ava's test.serial). */
  serial?: (title: string, impl: (t: T) => void | Promise<void>) => void;
  meta?: { file: string };
}

export interface LoggingContext {
  log(...values: unknown[]): void;
}

export type SimTestFn<T> = (t: T, seed: number) => void | Promise<void>;

/**
 * makeSimTest(test) gives simTest(title, seeds, fn): one test per seed, titled
 * "TITLE seed=N" (SHOAL_SEED / SHOAL_SEEDS apply), whose failure message
 * carries the seed and the command that replays exactly that run.
 *
 *   const simTest = makeSimTest(test);
 *   simTest('ring converges', [1, 2, 3], (t, seed) => { ... });
 *
 * With { serial: true } the runs of an async simulation do not interleave
 * (each still replays alone: interleaving never changes a run, only how long
 * the first one takes to finish).
 */
export function makeSimTest<T extends LoggingContext>(
  test: TestRegistrar<T>,
  options: { serial?: boolean } = {},
): (title: string, seeds: readonly number[], fn: SimTestFn<T>) => void {
  const file = displayPath(test.meta?.file);
  const register = options.serial === true && test.serial !== undefined ? test.serial : test;
  return (title, seeds, fn) => {
    for (const seed of seedsFromEnv(seeds)) {
      const fullTitle = `${title} seed=${seed}`;
      const replay = replayCommand(seed, file, fullTitle);
      register(fullTitle, async (t) => {
        try {
          await withSeed(title, seed, (s) => fn(t, s), replay);
        } catch (e) {
          t.log(`replay: ${replay}`);
          throw e;
        }
      });
    }
  };
}

function displayPath(file: string | undefined): string {
  if (file === undefined) return 'FILE';
  const path = file.startsWith('file:') ? fileURLToPath(file) : file;
  return relative(process.cwd(), path) || path;
}
