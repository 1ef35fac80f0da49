// The resume marker a member recovery leaves on its target VM (RESUME_MARKER_FILE) so that a run
// killed half way can be finished by the next one. It is bound to the run that wrote it (its run id,
// the id of the cluster lock that run held) and names what it changed (the member removed, the
// member added), so a later run trusts it only while it still describes the cluster: see
// markerMatches(). Plain Node, no `vscode`.
//
// Format: `key=value` lines. The keys ts, old_member_id, snapshot and snapshot_host are the ones
// the engine's observation already reads (src/recovery/observe.ts parseStateFile), so a marker
// written here is still understood there; run_id, instance, added_member_id and peer_url are new.
import type { EtcdMember } from '../etcd/types';
import { shellQuote } from '../util/shell';

export const RESUME_MARKER_FILE = '/var/vcap/store/etcd-recovery.state';

export interface ResumeMarker {
  /** The run (and cluster lock) that wrote it; null for a marker written before markers had one. */
  runId: string | null;
  /** When the recovery began, YYYYMMDDTHHMMSSZ (also names the data backup and the snapshot). */
  ts: string;
  /** The target instance's UUID (= its etcd member name). Null in markers without one. */
  instance: string | null;
  /** The target's peer URL, when known (matches a member still unstarted, without a name). */
  peerUrl: string | null;
  /** The dead member the run removed (or is about to remove). */
  removedMemberId: string | null;
  /** The member the run added back (null until `member add` returned). */
  addedMemberId: string | null;
  snapshot: string | null;
  snapshotHost: string | null;
}

const TS = /^[0-9]{8}T[0-9]{6}Z$/;
const MEMBER_ID = /^[0-9a-f]{1,16}$/;
const RUN_ID = /^[A-Za-z0-9._-]{1,64}$/;
const INSTANCE = /^[A-Za-z0-9-]{1,64}$/;
const PEER_URL = /^https?:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?$/;
const SNAPSHOT = /^\/[A-Za-z0-9._/-]{1,255}$/;
const HOST_LABEL = /^[A-Za-z0-9_.-]{1,64}\/[A-Za-z0-9-]{1,64}$/;

function check(name: string, value: string | null, re: RegExp): void {
  if (value !== null && !re.test(value)) throw new Error(`resume marker: invalid ${name} ${JSON.stringify(value)}`);
}

/** The file's text. Throws on a field that is not of its form (nothing else can reach the shell). */
export function formatResumeMarker(m: ResumeMarker): string {
  check('ts', m.ts, TS);
  check('run id', m.runId, RUN_ID);
  check('instance', m.instance, INSTANCE);
  check('peer URL', m.peerUrl, PEER_URL);
  check('removed member id', m.removedMemberId, MEMBER_ID);
  check('added member id', m.addedMemberId, MEMBER_ID);
  check('snapshot', m.snapshot, SNAPSHOT);
  check('snapshot host', m.snapshotHost, HOST_LABEL);
  const lines = [
    `ts=${m.ts}`,
    `old_member_id=${m.removedMemberId ?? ''}`,
    `snapshot=${m.snapshot ?? ''}`,
    ...(m.snapshotHost ? [`snapshot_host=${m.snapshotHost}`] : []),
    `run_id=${m.runId ?? ''}`,
    `instance=${m.instance ?? ''}`,
    `peer_url=${m.peerUrl ?? ''}`,
    `added_member_id=${m.addedMemberId ?? ''}`,
  ];
  return lines.join('\n') + '\n';
}

/** Parses the file's text; null when it is not a marker (no valid ts). Invalid fields read as null. */
export function parseResumeMarker(text: string): ResumeMarker | null {
  const kv = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const l = raw.trim();
    const i = l.indexOf('=');
    if (i > 0) kv.set(l.slice(0, i), l.slice(i + 1));
  }
  const ts = kv.get('ts');
  if (!ts || !TS.test(ts)) return null;
  const field = (k: string, re: RegExp) => {
    const v = kv.get(k);
    return v && re.test(v) ? v : null;
  };
  return {
    runId: field('run_id', RUN_ID),
    ts,
    instance: field('instance', INSTANCE),
    peerUrl: field('peer_url', PEER_URL),
    removedMemberId: field('old_member_id', MEMBER_ID),
    addedMemberId: field('added_member_id', MEMBER_ID),
    snapshot: field('snapshot', SNAPSHOT),
    snapshotHost: field('snapshot_host', HOST_LABEL),
  };
}

/** Shell command (run with sudo on the target) writing the marker atomically: a reader sees the old or the new one. */
export function writeResumeMarkerCommand(m: ResumeMarker): string {
  const tmp = `${RESUME_MARKER_FILE}.tmp`;
  return `printf '%s' ${shellQuote(formatResumeMarker(m))} > ${tmp} && mv -f ${tmp} ${RESUME_MARKER_FILE}`;
}

/** How the marker relates to the runs: see markerMatches. */
export type MarkerBinding = 'own-run' | 'stale-run' | 'other-run' | 'unbound';

export interface MarkerVerdict {
  /** The engine may resume from it. */
  trusted: boolean;
  binding: MarkerBinding;
  /** What in the current membership contradicts the marker (empty when it matches). */
  mismatches: string[];
  /** One sentence for the operator: why it is trusted or not, and what to do. */
  reason: string;
}

export interface MarkerMatchOptions {
  /** Run ids whose stale locks were found (and broken) when the current run took the lock. */
  staleRunIds?: readonly string[];
}

/** What in the current member list contradicts the marker. */
export function membershipMismatches(m: ResumeMarker, members: readonly EtcdMember[]): string[] {
  const out: string[] = [];
  if (!m.instance) return ['the marker does not name its target instance'];
  const byId = new Map(members.map((x) => [x.id, x]));
  const isTarget = (x: EtcdMember) =>
    x.name === m.instance || (x.name === '' && !!m.peerUrl && x.peerURLs.includes(m.peerUrl));
  if (m.removedMemberId) {
    const old = byId.get(m.removedMemberId);
    if (old && old.name !== '' && old.name !== m.instance)
      out.push(`member ${old.id} (recorded as the removed one) now belongs to ${old.name}`);
  }
  if (m.addedMemberId) {
    const added = byId.get(m.addedMemberId);
    if (!added) out.push(`member ${m.addedMemberId} (recorded as added) is not in the member list any more`);
    else if (added.name !== '' && added.name !== m.instance)
      out.push(`member ${added.id} (recorded as added) belongs to ${added.name}`);
  }
  const unknown = members.filter((x) => x.id !== m.removedMemberId && x.id !== m.addedMemberId && isTarget(x));
  // The run got past the removal but not to its own add: the job's start script adds the member by
  // itself when monit restarts etcd without member/. One such member is that add, not a change by
  // something else.
  const selfAdded = !!m.removedMemberId && !m.addedMemberId && unknown.length === 1;
  if (!selfAdded)
    for (const x of unknown)
      out.push(
        `member ${x.id} (${x.name || 'unstarted'}) of ${m.instance} is not one the marker knows: the instance was changed by something else`,
      );
  return out;
}

/**
 * Whether a resume marker can be trusted by the run holding the cluster lock (lockRunId):
 * - written by that same run: trusted ('own-run');
 * - written by a run whose lock was found stale (opts.staleRunIds): trusted only when the current
 *   membership matches what it recorded ('stale-run');
 * - written by any other run, or without a run id: not trusted ('other-run' / 'unbound'): the
 *   marker is reported, never used to skip a safety check.
 */
export function markerMatches(
  marker: ResumeMarker,
  currentMembers: readonly EtcdMember[],
  lockRunId: string,
  opts: MarkerMatchOptions = {},
): MarkerVerdict {
  const mismatches = membershipMismatches(marker, currentMembers);
  const started = `the recovery marker ${RESUME_MARKER_FILE} of ${marker.ts}`;
  if (!marker.runId)
    return {
      trusted: false,
      binding: 'unbound',
      mismatches,
      reason: `${started} names no run: it cannot be tied to a lock. Check the member list by hand, then remove the marker to start a fresh recovery.`,
    };
  if (marker.runId === lockRunId)
    return { trusted: true, binding: 'own-run', mismatches, reason: `${started} belongs to this run (${lockRunId}).` };
  if (opts.staleRunIds?.includes(marker.runId)) {
    if (!mismatches.length)
      return {
        trusted: true,
        binding: 'stale-run',
        mismatches,
        reason: `${started} was left by run ${marker.runId}, whose lock was stale, and the member list still matches it: resuming.`,
      };
    return {
      trusted: false,
      binding: 'stale-run',
      mismatches,
      reason: `${started} was left by run ${marker.runId}, whose lock was stale, but the member list changed since (${mismatches.join('; ')}). Check the cluster, then remove the marker to start a fresh recovery.`,
    };
  }
  return {
    trusted: false,
    binding: 'other-run',
    mismatches,
    reason: `${started} belongs to run ${marker.runId}, which does not hold the lock and whose lock was not found stale. Check that no other recovery is running, then remove the marker to start a fresh one.`,
  };
}
