/**
 * The in-memory twin of the cluster transport (src/cluster/transport.ts):
 * SimClusterTransport implements ClusterTransport over the simulator's
 * SimNetwork, on the Scheduler's virtual time, so the real shells run in the
 * simulation unchanged.
 *
 *  - Datagrams are SimNetwork packets: lost, delayed, duplicated, reordered
 *    per link settings.
 *  - Frames are SimNetwork stream messages: reliable and ordered per pair,
 *    silently lost while a link is cut (as the real transport loses what a
 *    broken connection held).
 *  - The handshake is modelled as identity checks with the real checkPeer():
 *    the dialer checks the listener's identity when it sends, the listener
 *    checks the identity the frame carries (the sender's as of sending) when
 *    it arrives. A refusal is counted (refusedOutbound / refusedInbound) and
 *    the frame dropped: nothing reaches a handler. The listener tells the
 *    dialer, whose request (if any) fails ERR_UNREACHABLE.
 *  - Frames are routed by StreamKind to the registered handler; a kind
 *    without one is counted (framesUnrouted), a request to it answered
 *    ERR_UNAVAILABLE.
 *  - Request/response: the deadline runs on virtual time (a lost request or
 *    answer, a partition, a paused or crashed peer: ERR_TIMEOUT at the
 *    deadline), ERR_ABORTED on the signal, and the peer's ShoalError comes
 *    back encoded as on the wire (error-payload.ts).
 *  - Connecting to an address nobody listens on (crashed or stopped) fails
 *    ERR_UNREACHABLE after a round trip (refused), across a cut after the
 *    connect timeout. A peer that stops (close) breaks its connections:
 *    requests waiting on it fail ERR_UNREACHABLE and requests it was serving
 *    see their signal abort. A crash is a power loss: no goodbye, so what
 *    waited on it times out.
 *
 * Every timer belongs to the transport's address, so pausing or crashing a
 * member holds or cancels them with the rest of its process. All randomness
 * comes from the Rng given; all time from the Scheduler.
 */
import { decodeErrorPayload } from '../cluster/error-payload.js';
import { serveRequest } from '../cluster/serve.js';
import { frameHeaderBytes } from '../cluster/frame-header.js';
import { checkPeer, type KnownMember, type NodeIdentity } from '../cluster/identity.js';
import { FrameType, type RefuseReason, type StreamKind } from '../cluster/kinds.js';
import { resolveClusterLimits, type ClusterLimits } from '../cluster/limits.js';
import { newClusterTransportStats, type ClusterTransportStats } from '../cluster/stats.js';
import type { ClusterTransport, PeerInfo, RequestOptions, StreamHandler } from '../cluster/transport.js';
import type { Address } from '../util/address.js';
import { assert } from '../util/assert.js';
import { ErrorCode, ShoalError } from '../util/errors.js';
import type { Rng } from '../util/rng.js';
import type { AsyncRunner } from './async-run.js';
import { sampleLatencyMs } from './link.js';
import type { SimNetwork } from './network.js';
import type { Scheduler } from './scheduler.js';

/** What travels between simulated cluster transports. */
export type SimWire =
  | { t: 'packet'; data: Uint8Array }
  /** A frame, with the identity its sender's handshake would have presented. */
  | { t: 'frame'; type: FrameType; kind: StreamKind; requestId: number; payload: Uint8Array; from: Readonly<NodeIdentity> }
  /** The listener refused the sender's identity (its handshake answer). */
  | { t: 'refused'; requestId: number; reason: RefuseReason; message: string };

/** The stream's u32 length prefix before every frame header. */
const lengthPrefixBytes = 4;

export interface SimTransportOptions {
  /** The member table's view of a name (node id, alive), for the handshake check. */
  known?(name: string): KnownMember | undefined;
  /** Told of every peer this member refused after reading its identity (as ClusterNetOptions.onRefused). */
  onRefused?(peer: NodeIdentity, reason: RefuseReason): void;
  limits?: Partial<ClusterLimits>;
}

interface PendingRequest {
  to: Address;
  resolve(payload: Uint8Array): void;
  reject(err: ShoalError): void;
}

/** The shared medium: one SimNetwork, and which transport listens at which address. */
export class SimClusterNet {
  private readonly listening = new Map<Address, SimClusterTransport>();

  constructor(
    readonly scheduler: Scheduler,
    readonly network: SimNetwork<SimWire>,
    private readonly rng: Rng,
    readonly runner: AsyncRunner,
  ) {}

  /** A transport listening at identity.addr (which must be free: crash or close the previous one first). */
  open(identity: NodeIdentity, options: SimTransportOptions = {}): SimClusterTransport {
    assert(!this.listening.has(identity.addr), `${identity.addr} is already listening`);
    const t = new SimClusterTransport(this, { ...identity }, options);
    this.listening.set(identity.addr, t);
    return t;
  }

  /** The live transport at addr, if any. */
  at(addr: Address): SimClusterTransport | undefined {
    return this.listening.get(addr);
  }

  /** One-way latency draw on the link from -> to. */
  latencyMs(from: Address, to: Address): number {
    return sampleLatencyMs(this.network.link(from, to).latency, this.rng);
  }

  /** @internal the transport stopped listening: crashed (no goodbye) or closed (its connections break). */
  gone(t: SimClusterTransport, closed: boolean): void {
    if (this.listening.get(t.localAddr) === t) this.listening.delete(t.localAddr);
    if (!closed) return;
    for (const other of this.listening.values()) other.peerClosed(t.localAddr);
  }
}

export class SimClusterTransport implements ClusterTransport {
  readonly stats: ClusterTransportStats = newClusterTransportStats();
  readonly limits: Readonly<ClusterLimits>;
  /** The last exception a handler threw, kept for diagnosis. */
  lastHandlerError: unknown = undefined;
  private readonly handlers = new Map<StreamKind, StreamHandler>();
  private packetHandler: (from: Address, data: Uint8Array) => void = () => undefined;
  private readonly known: (name: string) => KnownMember | undefined;
  private readonly onRefused: ((peer: NodeIdentity, reason: RefuseReason) => void) | undefined;
  private readonly pending = new Map<number, PendingRequest>();
  /** Requests awaiting an answer per peer (bounded by limits.pendingRequestsMax, as the Dialer). */
  private readonly pendingPerPeer = new Map<Address, number>();
  /** Requests being served, by the requester's address, with the controller that aborts each. */
  private readonly serving = new Map<Address, Set<AbortController>>();
  private nextRequestId = 1;
  private state: 'open' | 'closed' | 'crashed' = 'open';

  constructor(
    private readonly net: SimClusterNet,
    private readonly local: NodeIdentity,
    options: SimTransportOptions,
  ) {
    this.limits = resolveClusterLimits(options.limits);
    this.known = options.known ?? (() => undefined);
    this.onRefused = options.onRefused;
    net.network.register(local.addr, (from, msg) => this.deliver(from, msg));
  }

  get localAddr(): Address {
    return this.local.addr;
  }

  get identity(): Readonly<NodeIdentity> {
    return this.local;
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  setClusterId(clusterId: string): void {
    this.local.clusterId = clusterId;
  }

  onPacket(handler: (from: Address, data: Uint8Array) => void): void {
    this.packetHandler = handler;
  }

  handle(kind: StreamKind, handler: StreamHandler): void {
    this.handlers.set(kind, handler);
  }

  sendPacket(to: Address, data: Uint8Array): void {
    if (this.state !== 'open') {
      this.stats.packetSendErrors++;
      return;
    }
    if (data.length > this.limits.packetMaxBytes) {
      this.stats.packetsOversized++;
      this.stats.packetSendErrors++;
      return;
    }
    this.stats.packetsSent++;
    this.stats.packetBytesSent += data.length;
    this.net.network.send(this.local.addr, to, { t: 'packet', data }, 'packet', data.length);
  }

  post(to: Address, kind: StreamKind, payload: Uint8Array): boolean {
    const refused = this.dial(to, payload);
    if (refused !== undefined) {
      this.stats.framesRefused++;
      return false;
    }
    this.writeFrame(to, FrameType.Message, kind, 0, payload);
    return true;
  }

  send(to: Address, kind: StreamKind, payload: Uint8Array, options: { signal?: AbortSignal } = {}): Promise<void> {
    if (options.signal?.aborted) return Promise.reject(new ShoalError(ErrorCode.Aborted, 'send aborted'));
    const refused = this.dial(to, payload);
    if (refused !== undefined) {
      this.stats.framesRefused++;
      return refused.afterMs === 0 ? Promise.reject(refused.error) : this.later(refused.afterMs, refused.error, options.signal);
    }
    this.writeFrame(to, FrameType.Message, kind, 0, payload);
    return Promise.resolve();
  }

  request(to: Address, kind: StreamKind, payload: Uint8Array, options: RequestOptions): Promise<Uint8Array> {
    if (options.signal?.aborted) return Promise.reject(new ShoalError(ErrorCode.Aborted, 'request aborted before it was sent'));
    this.stats.requestsSent++;
    const waiting = this.pendingPerPeer.get(to) ?? 0;
    if (waiting >= this.limits.pendingRequestsMax) {
      this.stats.requestsFailed++;
      return Promise.reject(new ShoalError(ErrorCode.Unavailable, `${waiting} requests to ${to} already await an answer`));
    }
    this.pendingPerPeer.set(to, waiting + 1);
    const id = this.nextRequestId;
    this.nextRequestId = id >= 0xffffffff ? 1 : id + 1;
    return new Promise<Uint8Array>((resolve, reject) => {
      const { scheduler } = this.net;
      const settle = (): void => {
        this.pending.delete(id);
        const n = (this.pendingPerPeer.get(to) ?? 1) - 1;
        if (n === 0) this.pendingPerPeer.delete(to);
        else this.pendingPerPeer.set(to, n);
        scheduler.cancel(timer);
        options.signal?.removeEventListener('abort', onAbort);
      };
      const fail = (err: ShoalError): void => {
        if (!this.pending.has(id)) return;
        settle();
        this.stats.requestsFailed++;
        reject(err);
      };
      const timer = scheduler.after(
        options.timeoutMs,
        () => {
          if (!this.pending.has(id)) return;
          this.net.runner.markAsync();
          this.stats.requestTimeouts++;
          fail(new ShoalError(ErrorCode.Timeout, `no answer from ${to} within ${options.timeoutMs} ms`));
        },
        this.local.addr,
      );
      const onAbort = (): void => fail(new ShoalError(ErrorCode.Aborted, `request to ${to} aborted: its outcome is unknown`));
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, {
        to,
        resolve: (v) => {
          if (!this.pending.has(id)) return;
          settle();
          resolve(v);
        },
        reject: fail,
      });
      const refused = this.dial(to, payload);
      if (refused !== undefined) {
        this.stats.framesRefused++;
        this.failLater(id, refused.afterMs, refused.error);
        return;
      }
      this.writeFrame(to, FrameType.Request, kind, id, payload);
    });
  }

  /** Stop listening: connections to peers break (their requests to us fail, ours are aborted). */
  async close(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'closed';
    this.net.network.unregister(this.local.addr);
    this.net.gone(this, true);
    const err = new ShoalError(ErrorCode.TransportClosed, 'cluster transport closed');
    for (const p of [...this.pending.values()]) p.reject(err);
    this.abortServing(undefined);
  }

  /** The process died (power loss): no goodbye; its timers and inbound messages are gone; it never runs again. */
  crash(): void {
    if (this.state !== 'open') return;
    this.state = 'crashed';
    this.net.network.crash(this.local.addr);
    this.net.gone(this, false);
    this.pending.clear();
    this.pendingPerPeer.clear();
    this.serving.clear();
  }

  /** @internal a peer closed its end: what waits on it fails, what it asked of us is aborted. */
  peerClosed(addr: Address): void {
    if (this.state !== 'open') return;
    for (const [id, p] of this.pending) {
      // The FIN (or RST) travels like anything else: not across a cut.
      if (p.to !== addr || this.net.network.isCut(addr, this.local.addr)) continue;
      this.failLater(id, this.net.latencyMs(addr, this.local.addr), new ShoalError(ErrorCode.Unreachable, `connection to ${addr} closed`));
    }
    this.abortServing(addr);
  }

  /**
   * Whether a frame to `to` can go out now, as the real Dialer decides:
   * closed, too large, nobody listening (connection refused after a round
   * trip), a cut (connect timeout), or a listener whose identity this member
   * refuses. Returns the error, and when a caller waiting for it learns it.
   */
  private dial(to: Address, payload: Uint8Array): { error: ShoalError; afterMs: number } | undefined {
    if (this.state !== 'open') return { error: new ShoalError(ErrorCode.TransportClosed, 'cluster transport closed'), afterMs: 0 };
    if (payload.length + frameHeaderBytes > this.limits.frameMaxBytes) {
      return { error: new ShoalError(ErrorCode.FrameTooLarge, `frame of ${payload.length} bytes exceeds ${this.limits.frameMaxBytes}`), afterMs: 0 };
    }
    const { network } = this.net;
    const from = this.local.addr;
    if (network.isCut(from, to)) {
      this.stats.connectFailures++;
      return { error: new ShoalError(ErrorCode.Unreachable, `cannot reach ${to}: no connection within ${this.limits.connectTimeoutMs} ms`), afterMs: this.limits.connectTimeoutMs };
    }
    const peer = this.net.at(to);
    const roundTripMs = this.net.latencyMs(from, to) + this.net.latencyMs(to, from);
    if (peer === undefined) {
      this.stats.connectFailures++;
      return { error: new ShoalError(ErrorCode.Unreachable, `cannot reach ${to}: connection refused`), afterMs: roundTripMs };
    }
    const verdict = checkPeer(peer.identity, { local: this.local, known: this.known });
    if (!verdict.ok) {
      this.stats.refusedOutbound[verdict.reason]++;
      this.refused(peer.identity, verdict.reason);
      return { error: new ShoalError(ErrorCode.Unreachable, `refused ${to} (${peer.identity.name}): ${verdict.message}`, { details: { reason: verdict.reason } }), afterMs: roundTripMs };
    }
    return undefined;
  }

  private writeFrame(to: Address, type: FrameType, kind: StreamKind, requestId: number, payload: Uint8Array): void {
    this.stats.framesSent++;
    this.stats.frameBytesSent += payload.length;
    const msg: SimWire = { t: 'frame', type, kind, requestId, payload, from: { ...this.local } };
    this.net.network.send(this.local.addr, to, msg, 'stream', lengthPrefixBytes + frameHeaderBytes + payload.length);
  }

  /** Fail after afterMs (a connect that is refused or times out), or at once with ERR_ABORTED on the signal. */
  private later(afterMs: number, err: ShoalError, signal: AbortSignal | undefined): Promise<never> {
    return new Promise<never>((_, reject) => {
      const onAbort = (): void => {
        this.net.scheduler.cancel(timer);
        reject(new ShoalError(ErrorCode.Aborted, 'send aborted'));
      };
      const timer = this.net.scheduler.after(
        afterMs,
        () => {
          signal?.removeEventListener('abort', onAbort);
          this.net.runner.markAsync();
          reject(err);
        },
        this.local.addr,
      );
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private failLater(id: number, afterMs: number, err: ShoalError): void {
    this.net.scheduler.after(
      afterMs,
      () => {
        this.net.runner.markAsync();
        this.pending.get(id)?.reject(err);
      },
      this.local.addr,
    );
  }

  private deliver(from: Address, msg: SimWire): void {
    if (this.state !== 'open') return;
    switch (msg.t) {
      case 'packet':
        return this.receivePacket(from, msg.data);
      case 'refused':
        this.stats.refusedOutbound[msg.reason]++;
        if (msg.requestId !== 0) {
          this.net.runner.markAsync();
          this.pending.get(msg.requestId)?.reject(new ShoalError(ErrorCode.Unreachable, `${from} refused the connection: ${msg.message}`, { details: { reason: msg.reason } }));
        }
        return;
      case 'frame':
        return this.receiveFrame(from, msg);
    }
  }

  private receivePacket(from: Address, data: Uint8Array): void {
    if (data.length > this.limits.packetMaxBytes) {
      this.stats.packetsOversizedReceived++;
      return;
    }
    this.stats.packetsReceived++;
    this.stats.packetBytesReceived += data.length;
    try {
      this.packetHandler(from, data);
    } catch (e) {
      this.stats.handlerErrors++;
      this.lastHandlerError = e;
    }
  }

  private receiveFrame(from: Address, msg: Extract<SimWire, { t: 'frame' }>): void {
    this.stats.framesReceived++;
    this.stats.frameBytesReceived += msg.payload.length;
    if (msg.type === FrameType.Response || msg.type === FrameType.ErrorResponse) {
      // An answer on our own outbound connection: its handshake was checked when it opened.
      const p = this.pending.get(msg.requestId);
      if (p === undefined || p.to !== from) return; // timed out or aborted already
      this.net.runner.markAsync();
      if (msg.type === FrameType.Response) p.resolve(msg.payload);
      else p.reject(decodeErrorPayload(msg.payload));
      return;
    }
    const verdict = checkPeer(msg.from, { local: this.local, known: this.known });
    if (!verdict.ok) {
      this.stats.refusedInbound[verdict.reason]++;
      this.refused(msg.from, verdict.reason);
      // Tell the dialer why; nothing it sent goes further.
      this.net.network.send(this.local.addr, from, { t: 'refused', requestId: msg.requestId, reason: verdict.reason, message: verdict.message }, 'stream', lengthPrefixBytes + frameHeaderBytes);
      return;
    }
    const handler = this.handlers.get(msg.kind);
    const peer: PeerInfo = msg.from;
    if (msg.type === FrameType.Message) {
      if (handler?.message === undefined) {
        this.stats.framesUnrouted++;
        return;
      }
      try {
        handler.message(peer, msg.payload);
      } catch (e) {
        this.stats.handlerErrors++;
        this.lastHandlerError = e;
      }
      return;
    }
    this.serve(from, peer, msg, handler);
  }

  private serve(from: Address, peer: PeerInfo, msg: Extract<SimWire, { t: 'frame' }>, handler: StreamHandler | undefined): void {
    let inProgress = this.serving.get(from);
    if (inProgress === undefined) {
      inProgress = new Set();
      this.serving.set(from, inProgress);
    }
    // The handler's answer settles in a promise: the runner drains microtasks after this event.
    if (handler?.request !== undefined) this.net.runner.markAsync();
    serveRequest(handler, msg.payload, {
      selfName: this.local.name,
      kind: msg.kind,
      peer,
      stats: this.stats,
      servingMax: this.limits.servingRequestsMax,
      inProgress,
      answer: (type, body) => {
        if (this.state !== 'open') return;
        this.writeFrame(from, type, msg.kind, msg.requestId, body);
      },
      bug: (e) => {
        this.lastHandlerError = e;
      },
    });
  }

  /** Tell the owner of a refusal it decided (a hook: a throw is counted, the refusal stands). */
  private refused(peer: Readonly<NodeIdentity>, reason: RefuseReason): void {
    if (this.onRefused === undefined) return;
    try {
      this.onRefused({ ...peer }, reason);
    } catch (e) {
      this.stats.handlerErrors++;
      this.lastHandlerError = e;
    }
  }

  /** Abort what is being served for `from` (every peer when undefined): its connection closed. */
  private abortServing(from: Address | undefined): void {
    for (const [addr, set] of this.serving) {
      if (from !== undefined && addr !== from) continue;
      for (const ac of set) ac.abort();
      this.serving.delete(addr);
    }
  }
}
