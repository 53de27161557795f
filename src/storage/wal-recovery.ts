/**
 * WAL recovery: read every segment in sequence order, verify every record,
 * rebuild hard state and log, and repair a torn tail of the last segment
 * (truncate the file, or remove it if not even its header survived).
 */
import { posix } from 'node:path';
import type { Entry, HardState } from '../raft/types.js';
import { ErrorCode, isShoalError } from '../util/errors.js';
import type { FileSystem } from './fs.js';
import { RecordType, decodeEntry, decodeHardState, decodeSnapshotMarker, type SnapshotMarker } from './record.js';
import { ReplayLog } from './replay-log.js';
import { corruptRecord, parseSegment, parseSegmentName } from './wal-segment.js';

export interface SegmentState {
  name: string;
  seq: number;
  firstIndex: number;
  /** Highest entry index written to this segment (0 if none). */
  maxEntryIndex: number;
  sizeBytes: number;
}

export interface TornTailReport {
  file: string;
  offset: number;
  droppedBytes: number;
  reason: string;
  /** The segment lost even its header and was removed. */
  removedFile: boolean;
}

export interface WalRecoveryReport {
  segments: number;
  records: number;
  entries: number;
  tornTail?: TornTailReport;
}

export interface WalRecovered {
  hardState?: HardState;
  /** Contiguous entries after the last snapshot marker (if any) / the compacted prefix. */
  entries: Entry[];
  /** The last snapshot marker replay saw, if it still applies. */
  snapshotMarker?: SnapshotMarker;
  report: WalRecoveryReport;
}

export interface RecoveryResult {
  recovered: WalRecovered;
  segments: SegmentState[];
  /** Highest segment sequence number ever seen (including a removed torn one). */
  lastSeq: number;
}

export async function recoverWal(fs: FileSystem, dir: string, maxPayloadBytes: number): Promise<RecoveryResult> {
  const names = (await fs.readdir(dir))
    .map((name) => ({ name, parsed: parseSegmentName(name) }))
    .filter((x): x is { name: string; parsed: { seq: number; firstIndex: number } } => x.parsed !== undefined)
    .sort((a, b) => a.parsed.seq - b.parsed.seq);

  const log = new ReplayLog();
  let hardState: HardState | undefined;
  let records = 0;
  let tornTail: TornTailReport | undefined;
  const segments: SegmentState[] = [];
  let lastSeq = 0;

  for (let i = 0; i < names.length; i++) {
    const { name, parsed } = names[i];
    const path = posix.join(dir, name);
    const isLast = i === names.length - 1;
    const buf = await fs.readFile(path);
    const seg = parseSegment(name, buf, parsed, isLast, maxPayloadBytes);
    lastSeq = parsed.seq;
    let maxEntryIndex = 0;
    for (const rec of seg.records) {
      records++;
      try {
        switch (rec.type) {
          case RecordType.SegmentHeader:
            break;
          case RecordType.HardState:
            hardState = decodeHardState(rec.payload);
            break;
          case RecordType.SnapshotMarker:
            log.applyMarker(decodeSnapshotMarker(rec.payload));
            break;
          case RecordType.Entry: {
            const e = decodeEntry(rec.payload);
            maxEntryIndex = Math.max(maxEntryIndex, e.index);
            const outcome = log.append(e);
            if (outcome === 'gap') throw corruptRecord(name, rec.offset, `entry ${e.index} leaves a gap after ${log.lastIndex}`);
            break;
          }
          default:
            throw corruptRecord(name, rec.offset, `unexpected record type ${rec.type}`);
        }
      } catch (e) {
        if (isShoalError(e, ErrorCode.CorruptRecord)) throw e;
        throw corruptRecord(name, rec.offset, (e as Error).message, e);
      }
    }
    let sizeBytes = buf.length;
    if (seg.torn !== undefined) {
      const removedFile = seg.torn.offset === 0;
      tornTail = { file: name, offset: seg.torn.offset, droppedBytes: buf.length - seg.torn.offset, reason: seg.torn.reason, removedFile };
      if (removedFile) {
        await fs.unlink(path);
        await fs.fsyncDir(dir);
        continue;
      }
      const h = await fs.open(path);
      try {
        await h.truncate(seg.torn.offset);
        await h.datasync();
      } finally {
        await h.close();
      }
      sizeBytes = seg.torn.offset;
    }
    segments.push({ name, seq: parsed.seq, firstIndex: parsed.firstIndex, maxEntryIndex, sizeBytes });
  }

  const entries = log.toEntries();
  return {
    recovered: {
      hardState,
      entries,
      snapshotMarker: log.baseMarker,
      report: { segments: segments.length, records, entries: entries.length, tornTail },
    },
    segments,
    lastSeq,
  };
}
