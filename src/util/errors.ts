/**
 * Typed errors with a stable `code` (Node's ERR_* convention). Operating errors
 * (bad input, dead peers, corrupt files) are ShoalErrors; programmer errors are
 * assertion failures (see assert.ts).
 */
export const ErrorCode = {
  // wire
  DecodeFailed: 'ERR_DECODE_FAILED',
  PacketTooLarge: 'ERR_PACKET_TOO_LARGE',
  FrameTooLarge: 'ERR_FRAME_TOO_LARGE',
  // config
  InvalidConfig: 'ERR_INVALID_CONFIG',
  InvalidArgument: 'ERR_INVALID_ARGUMENT',
  // membership
  MetaTooLarge: 'ERR_META_TOO_LARGE',
  JoinFailed: 'ERR_JOIN_FAILED',
  NotRunning: 'ERR_NOT_RUNNING',
  // transport
  TransportClosed: 'ERR_TRANSPORT_CLOSED',
  Unreachable: 'ERR_UNREACHABLE',
  Timeout: 'ERR_TIMEOUT',
  Aborted: 'ERR_ABORTED',
  // raft
  NotLeader: 'ERR_NOT_LEADER',
  ProposalDropped: 'ERR_PROPOSAL_DROPPED',
  NoQuorum: 'ERR_NO_QUORUM',
  ConfChangeInProgress: 'ERR_CONF_CHANGE_IN_PROGRESS',
  Compacted: 'ERR_COMPACTED',
  Unavailable: 'ERR_UNAVAILABLE',
  // storage
  CorruptRecord: 'ERR_CORRUPT_RECORD',
  CorruptSnapshot: 'ERR_CORRUPT_SNAPSHOT',
  StorageIo: 'ERR_STORAGE_IO',
  // api
  NotFound: 'ERR_NOT_FOUND',
  BadRequest: 'ERR_BAD_REQUEST',
  // transport (appended)
  BindFailed: 'ERR_BIND_FAILED',
  // raft kv (appended)
  /** The client's de-duplication session was evicted: the request was not applied. */
  SessionExpired: 'ERR_SESSION_EXPIRED',
  /** An older request of a client that has moved on: not applied again. */
  StaleRequest: 'ERR_STALE_REQUEST',
  // wire (appended)
  /** An encrypted packet or frame that no key in the keyring authenticates (wrong key, wrong label, tampered). */
  DecryptFailed: 'ERR_DECRYPT_FAILED',
  // control store (appended)
  /** A precondition on current state did not hold (put with prevRevision, lease id already granted). */
  Conflict: 'ERR_CONFLICT',
  /** A watcher fell further behind than its buffer allows and was cancelled; resume from lastRevision + 1. */
  SlowWatcher: 'ERR_SLOW_WATCHER',
  /** A named limit is reached (the store's keys, leases or bytes; a client's watches or leases through the API); refused, nothing changed. */
  ResourceExhausted: 'ERR_RESOURCE_EXHAUSTED',
  // api (appended)
  /** No bearer token, or one the agent does not know (HTTP 401). */
  Unauthenticated: 'ERR_UNAUTHENTICATED',
  /** A known token without the scope the request needs, a foreign Host on a loopback API, or a reserved key (HTTP 403). */
  Forbidden: 'ERR_FORBIDDEN',
  /** A state-changing request whose body is not declared application/json (HTTP 415). */
  UnsupportedMediaType: 'ERR_UNSUPPORTED_MEDIA_TYPE',
  /** The path exists but not with this method (HTTP 405). */
  MethodNotAllowed: 'ERR_METHOD_NOT_ALLOWED',
  /** A failure the API cannot classify (HTTP 500). */
  Internal: 'ERR_INTERNAL',
  // agent (appended)
  /** Another live agent holds the data directory's lock. */
  DataDirLocked: 'ERR_DATA_DIR_LOCKED',
  // api (appended)
  /** The client sent more API requests than its rate allows (HTTP 429 with Retry-After); nothing was done. */
  RateLimited: 'ERR_RATE_LIMITED',
  // control store (appended)
  /**
   * The config store's space quota is reached (the NOSPACE alarm): writes that grow it are refused
   * until deletes or compaction free space; reads, deletes and compaction still work (HTTP 507).
   */
  NoSpace: 'ERR_NO_SPACE',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class ShoalError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>> | undefined;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ShoalError';
    this.code = code;
    this.details = options?.details;
  }
}

export function isShoalError(e: unknown, code?: ErrorCode): e is ShoalError {
  return e instanceof ShoalError && (code === undefined || e.code === code);
}
