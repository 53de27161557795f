/**
 * Elections (§5.2, dissertation §9.6 PreVote, §3.10 TimeoutNow): the
 * follower's election timer, campaigning, counting votes, and answering
 * vote requests.
 */
import { wireUintMax } from '../wire/uint.js';
import { campaignTransferContext, emptyBytes, voteResponseType } from './message.js';
import { VoteResult, voteResult } from './quorum.js';
import type { Raft } from './raft.js';
import { bcastAppend } from './replication.js';
import { EntryType, MessageType, RaftRole, type Message, type NodeId } from './types.js';

const utf8 = new TextEncoder();

/** Follower and candidate tick: campaign after a randomized election timeout. */
export function tickElection(r: Raft): void {
  r.electionElapsed++;
  if (promotable(r) && r.electionElapsed >= r.randomizedElectionTicks) {
    r.electionElapsed = 0;
    hup(r, false);
  }
}

/** A voter in its own (applied) configuration. */
export function promotable(r: Raft): boolean {
  return r.voters.includes(r.id);
}

/** A committed change not yet applied may remove us or change the quorum: do not campaign on stale membership. */
function hasUnappliedConfChanges(r: Raft): boolean {
  for (let i = Math.max(r.log.applied, r.membership.confIndex) + 1; i <= r.log.committed; i++) {
    if (r.log.entryAt(i)?.type === EntryType.ConfChange) return true;
  }
  return false;
}

/**
 * Starts an election: a pre-election first when PreVote is on, unless forced by TimeoutNow.
 * Never past the wire bound: a campaign needs term + 1 and room for the
 * leader's no-op at lastIndex + 1; at the bound (only a hostile or broken
 * voter drives a term there) the campaign is refused and counted.
 */
export function hup(r: Raft, transfer: boolean): void {
  if (r.role === RaftRole.Leader || !promotable(r) || hasUnappliedConfChanges(r)) return;
  if (r.term >= wireUintMax || r.log.lastIndex() >= wireUintMax) {
    r.counters.campaignsRefusedAtBound++;
    return;
  }
  r.counters.elections++;
  campaign(r, r.cfg.preVote && !transfer ? 'pre' : 'election', transfer);
}

function campaign(r: Raft, kind: 'pre' | 'election', transfer: boolean): void {
  let voteType: MessageType;
  let term: number;
  if (kind === 'pre') {
    r.becomePreCandidate();
    voteType = MessageType.PreVote;
    term = r.term + 1; // the term we would campaign in; ours does not change
  } else {
    r.becomeCandidate();
    voteType = MessageType.Vote;
    term = r.term;
  }
  if (poll(r, r.id, true) === VoteResult.Won) {
    wonElection(r);
    return;
  }
  for (const v of r.voters) {
    if (v === r.id) continue;
    r.send({
      type: voteType,
      to: v,
      term,
      index: r.log.lastIndex(),
      logTerm: r.log.lastTerm(),
      context: transfer ? campaignTransferContext : emptyBytes,
    });
  }
}

/** Records a vote (first answer wins); only voters of our configuration count. */
export function poll(r: Raft, from: NodeId, granted: boolean): VoteResult {
  if (!r.votes.has(from)) r.votes.set(from, granted);
  return voteResult(r.voters, r.votes);
}

export function wonElection(r: Raft): void {
  if (r.role === RaftRole.PreCandidate) {
    campaign(r, 'election', false);
  } else {
    r.becomeLeader();
    bcastAppend(r);
  }
}

/** §5.2, §5.4.1: grant a vote at most once per term, and only to an up-to-date log. */
export function handleVoteRequest(r: Raft, m: Message): void {
  const resp = voteResponseType(m.type);
  const canVote =
    r.vote === m.from ||
    (r.vote === '' && r.lead === '') ||
    // A pre-vote for a future term does not bind us.
    (m.type === MessageType.PreVote && m.term > r.term);
  if (canVote && r.log.isUpToDate(m.index, m.logTerm)) {
    r.send({ type: resp, to: m.from, term: m.term });
    if (m.type === MessageType.Vote) {
      r.electionElapsed = 0;
      r.vote = m.from;
    }
  } else if (r.term > 0) {
    // A refusal names the leader we follow: a voter that missed its addition can then hear it (Raft.noteVouchedLeader).
    r.send({ type: resp, to: m.from, term: r.term, reject: true, context: r.lead === '' ? emptyBytes : utf8.encode(r.lead) });
  } else {
    // A node at term 0 (never heard a leader) has no term to reject with; silence is a rejection too.
    r.counters.messagesDroppedUnexpected++;
  }
}
