// What an observation says about the target's etcd membership, shared by the plan and the pre-flight.
// Pure: no I/O. No `vscode` import here.
import type { EtcdMember } from '../etcd/types';
import { expectedPeerUrl } from './commands';
import type { Observation } from './observe';

export function quorumOf(n: number): number {
  return Math.floor(n / 2) + 1;
}

/** What the observation says about the target's membership, from the state file and the member list. */
export interface TargetMembership {
  /** Dead member still registered (to remove). */
  stale: EtcdMember | null;
  /** Member re-added for this instance (different id from the stale one): unstarted (nameless) or started. */
  added: EtcdMember | null;
  /** `added` has started (has its name). */
  addedStarted: boolean;
}

export function targetMembership(obs: Observation): TargetMembership {
  const t = obs.target;
  const members = obs.members ?? [];
  if (!t || t.index === null) return { stale: null, added: null, addedStarted: false };
  const peer = expectedPeerUrl(t.index);
  const mine = members.filter((m) => m.name === t.id || m.peerURLs.includes(peer));
  const state = obs.targetVm?.state ?? null;
  let stale: EtcdMember | null = null;
  if (state) {
    // Resumed: the state file names the member that was dead when the run began.
    stale = state.oldMemberId ? (mine.find((m) => m.id === state.oldMemberId) ?? null) : null;
  } else {
    // Fresh: a named member is the old one; a nameless one is an `unstarted` add (ours, or the job's
    // start script adding itself when it finds no member/ directory).
    stale = mine.find((m) => m.name === t.id) ?? null;
  }
  const added = mine.find((m) => m !== stale && (state ? m.id !== state.oldMemberId : m.name === '')) ?? null;
  return { stale, added, addedStarted: !!added && added.name === t.id };
}
