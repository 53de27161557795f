/**
 * Size limits of everything that crosses the network, shared by the cluster
 * transport (src/cluster/), the codecs and the simulator's network.
 */
export const TransportLimits = {
  /** UDP payload that fits a 1500-byte Ethernet MTU with headers to spare (memberlist uses 1400). */
  packetMaxBytes: 1400,
  /** Largest frame on a stream: push-pull of ~10k members or a Raft batch/snapshot chunk. */
  frameMaxBytes: 8 * 1024 * 1024,
} as const;
