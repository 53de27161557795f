/**
 * InstallSnapshot in chunks: the follower assembles chunks strictly in
 * order (offset == bytes held); anything else is rejected with the offset it
 * expects, and the leader resends from there.
 */
import type { NodeId, Snapshot, SnapshotMeta } from './types.js';

/** Largest snapshot a follower assembles in memory; beyond it the transfer is refused. */
export const snapshotAssemblyMaxBytes = 1024 * 1024 * 1024;

export type ChunkResult =
  | { kind: 'ack'; offset: number }
  | { kind: 'reject'; expectedOffset: number }
  | { kind: 'done'; snapshot: Snapshot };

export class SnapshotAssembler {
  private meta: SnapshotMeta | undefined = undefined;
  private from: NodeId = '';
  private chunks: Uint8Array[] = [];
  private bytes = 0;

  reset(): void {
    this.meta = undefined;
    this.from = '';
    this.chunks = [];
    this.bytes = 0;
  }

  receive(from: NodeId, meta: SnapshotMeta, offset: number, data: Uint8Array, done: boolean): ChunkResult {
    if (offset === 0) {
      this.reset();
      this.meta = meta;
      this.from = from;
    } else if (this.meta === undefined || this.from !== from || !sameMeta(this.meta, meta) || offset !== this.bytes) {
      const expectedOffset = this.meta !== undefined && this.from === from && sameMeta(this.meta, meta) ? this.bytes : 0;
      return { kind: 'reject', expectedOffset };
    }
    if (this.bytes + data.length > snapshotAssemblyMaxBytes) {
      this.reset();
      return { kind: 'reject', expectedOffset: 0 };
    }
    this.chunks.push(data);
    this.bytes += data.length;
    if (!done) return { kind: 'ack', offset: this.bytes };
    const whole = new Uint8Array(this.bytes);
    let at = 0;
    for (const c of this.chunks) {
      whole.set(c, at);
      at += c.length;
    }
    const snapshot: Snapshot = { meta, data: whole };
    this.reset();
    return { kind: 'done', snapshot };
  }
}

function sameMeta(a: SnapshotMeta, b: SnapshotMeta): boolean {
  return a.index === b.index && a.term === b.term;
}

/** The chunk of `snapshot` starting at `offset`, at most `chunkBytes` long. */
export function snapshotChunk(
  snapshot: Snapshot,
  offset: number,
  chunkBytes: number,
): { offset: number; data: Uint8Array; done: boolean } {
  const end = Math.min(offset + chunkBytes, snapshot.data.length);
  return { offset, data: snapshot.data.subarray(offset, end), done: end >= snapshot.data.length };
}
