/**
 * WAL segment files: names, and parsing one segment's bytes into records with
 * the torn-tail rule. Segments are named `<seq>-<firstIndex>.wal` (16 decimal
 * digits each): the sequence number orders them, because an overwrite can
 * move the first index of a later segment below an earlier one's.
 */
import { ErrorCode, ShoalError } from '../util/errors.js';
import {
  RECORD_HEADER_BYTES,
  RecordType,
  decodeRecordAt,
  decodeSegmentHeader,
  type RecordFailure,
} from './record.js';

const SEGMENT_NAME_RE = /^(\d{16})-(\d{16})\.wal$/;

export function segmentName(seq: number, firstIndex: number): string {
  return `${String(seq).padStart(16, '0')}-${String(firstIndex).padStart(16, '0')}.wal`;
}

export function parseSegmentName(name: string): { seq: number; firstIndex: number } | undefined {
  const m = SEGMENT_NAME_RE.exec(name);
  if (m === null) return undefined;
  return { seq: Number(m[1]), firstIndex: Number(m[2]) };
}

export interface RawRecord {
  type: number;
  payload: Uint8Array;
  offset: number;
}

export interface ParsedSegment {
  records: RawRecord[];
  /** Set when the segment ends in a torn record: valid data ends at `offset`. */
  torn?: { offset: number; reason: string };
}

export function corruptRecord(file: string, offset: number, reason: string, cause?: unknown): ShoalError {
  return new ShoalError(ErrorCode.CorruptRecord, `corrupt WAL record in ${file} at offset ${offset}: ${reason}`, {
    cause,
    details: { file, offset, reason },
  });
}

/** Is there a checksum-valid record starting anywhere in (from, buf.length)? Returns its offset or -1. */
function findValidRecordAfter(buf: Uint8Array, from: number, maxPayloadBytes: number): number {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let p = from + 1; p + RECORD_HEADER_BYTES <= buf.length; p++) {
    const type = buf[p + 8];
    if (type < RecordType.SegmentHeader || type > RecordType.SnapshotMarker) continue;
    const len = view.getUint32(p, true);
    if (len > maxPayloadBytes || p + RECORD_HEADER_BYTES + len > buf.length) continue;
    if (decodeRecordAt(buf, p, maxPayloadBytes).ok) return p;
  }
  return -1;
}

/**
 * Splits a segment into checksum-verified records. A bad record is a torn
 * tail (reported, not thrown) only in the last segment and only when no valid
 * record follows it anywhere in the file; otherwise ERR_CORRUPT_RECORD.
 */
export function parseSegment(
  file: string,
  buf: Uint8Array,
  expected: { seq: number; firstIndex: number },
  isLast: boolean,
  maxPayloadBytes: number,
): ParsedSegment {
  const records: RawRecord[] = [];
  let offset = 0;
  while (offset < buf.length) {
    const r = decodeRecordAt(buf, offset, maxPayloadBytes);
    if (!r.ok) return { records, torn: tornOrThrow(file, buf, offset, r, isLast, maxPayloadBytes) };
    if (offset === 0) {
      if (r.type !== RecordType.SegmentHeader) throw corruptRecord(file, 0, `first record has type ${r.type}, expected a segment header`);
      let h;
      try {
        h = decodeSegmentHeader(r.payload);
      } catch (e) {
        throw corruptRecord(file, 0, (e as Error).message, e);
      }
      if (h.seq !== expected.seq || h.firstIndex !== expected.firstIndex) {
        throw corruptRecord(file, 0, `header says seq ${h.seq} firstIndex ${h.firstIndex}, name says ${expected.seq}/${expected.firstIndex}`);
      }
    } else if (r.type === RecordType.SegmentHeader) {
      throw corruptRecord(file, offset, 'segment header in the middle of a segment');
    }
    records.push({ type: r.type, payload: r.payload, offset });
    offset = r.endOffset;
  }
  if (buf.length === 0 && !isLast) throw corruptRecord(file, 0, 'empty segment before the last one');
  if (buf.length === 0) return { records, torn: { offset: 0, reason: 'empty segment' } };
  return { records };
}

function tornOrThrow(
  file: string,
  buf: Uint8Array,
  offset: number,
  failure: RecordFailure,
  isLast: boolean,
  maxPayloadBytes: number,
): { offset: number; reason: string } {
  if (!isLast) throw corruptRecord(file, offset, `${failure.reason} (not the last segment)`);
  const next = findValidRecordAfter(buf, offset, maxPayloadBytes);
  if (next >= 0) throw corruptRecord(file, offset, `${failure.reason}; a valid record follows at offset ${next}`);
  return { offset, reason: failure.reason };
}
