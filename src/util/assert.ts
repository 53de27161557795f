/** Assertions for programmer errors: what must hold and what must never happen. */
export class AssertionError extends Error {
  readonly code = 'ERR_ASSERTION';
  constructor(message: string) {
    super(message);
    this.name = 'AssertionError';
  }
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}

export function unreachable(x: never, what = 'value'): never {
  throw new AssertionError(`unreachable ${what}: ${JSON.stringify(x)}`);
}
