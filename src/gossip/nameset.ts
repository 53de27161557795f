import type { Rng } from '../util/rng.js';

/** A set of names with O(1) add, delete and uniform random pick. */
export class NameSet {
  private readonly items: string[] = [];
  private readonly index = new Map<string, number>();

  get size(): number {
    return this.items.length;
  }

  add(name: string): void {
    if (this.index.has(name)) return;
    this.index.set(name, this.items.length);
    this.items.push(name);
  }

  delete(name: string): void {
    const i = this.index.get(name);
    if (i === undefined) return;
    const last = this.items.pop() as string;
    this.index.delete(name);
    if (i < this.items.length) {
      this.items[i] = last;
      this.index.set(last, i);
    }
  }

  /** A uniformly random member (undefined when empty). */
  pick(rng: Rng): string | undefined {
    return this.items.length === 0 ? undefined : this.items[rng.int(this.items.length)];
  }
}
