// Evidence of each master after a quorum loss: is its data there, and how far did it get (raft term,
// raft index, revision)? From the member's own status where etcd runs; where it does not, read
// offline: a COPY of its member/ directory is started in a scratch directory on a spare local port,
// with plain-HTTP peer URLs (it cannot reach, or be reached by, the real members), its status read,
// then stopped and the copy removed (the member's own data is never touched).
// The ranking is pure: most advanced first; a tie is never chosen automatically. No `vscode` import here.
import { shellQuote } from '../util/shell';
import * as cmd from '../recovery/commands';
import type { RemoteCommand } from '../recovery/commands';
import { parseEndpointStatusJson, type ParsedEndpointStatus } from '../etcd/statusParsers';
import type { VmProbe } from '../recovery/vmProbe';

export const ETCD_BIN = '/var/vcap/packages/etcd/bin/etcd';
export const ETCDCTL_BIN = '/var/vcap/packages/etcd/bin/etcdctl';

/** One master's evidence. */
export interface MasterEvidence {
  label: string;
  index: number | null;
  bootstrap: boolean;
  /** member/snap/db (or the WAL) is in the data directory. */
  dataPresent: boolean;
  /** etcd runs (the job's pidfile names a live process). */
  running: boolean;
  /** The running member answers a linearizable health check: its cluster still has quorum. */
  healthy?: boolean;
  /** Members in the running member's own member list (read only while it has quorum). */
  memberCount?: number;
  /** Where the numbers come from. */
  source: 'own-status' | 'offline-copy' | 'none';
  raftTerm?: bigint;
  raftIndex?: bigint;
  revision?: bigint;
  clusterId?: string;
  memberId?: string;
  /** Why the numbers are missing (data absent, the read failed, …). */
  note?: string;
}

/** `member/` holds a snapshot db or a WAL: there is data to recover from. */
export function dataPresent(p: VmProbe): boolean {
  return p.memberDir.exists && (p.memberDir.entries.includes('snap') || p.memberDir.entries.includes('wal'));
}

/**
 * The running member's own status, health and member list, through the job's etcdctl wrapper against
 * this VM only. The three reads run at once (each into its own file, printed in order): without
 * quorum the health check and the member list each wait out their command timeout (`waitS`).
 */
export function ownStatus(waitS = 4): RemoteCommand {
  const e = `LOCAL=true ${cmd.ETCDCTL} --dial-timeout=2s`;
  const w = `${e} --command-timeout=${Math.max(1, Math.round(waitS))}s`;
  return {
    command: `d=$(mktemp -d); ${w} endpoint health >$d/h 2>&1 & ${w} member list >$d/m 2>/dev/null & ${e} --command-timeout=4s endpoint status -w json; wait; echo '### health'; cat $d/h; echo '### members'; cat $d/m; rm -rf $d; true`,
    mutates: false,
    purpose: "read the running member's own raft term, index and revision, and whether its cluster has quorum",
  };
}

/**
 * Reads a stopped member's numbers from a copy of its data: etcd started on the copy in a scratch
 * directory under /var/vcap/data, listening on spare 127.0.0.1 ports, peers over plain HTTP (the real
 * members speak HTTPS with client certificates: no message reaches them), stopped after the read.
 * Changes nothing of the member's data (a copy); the copy is removed afterwards.
 */
export function offlineStatus(): RemoteCommand {
  const script = [
    'set -u',
    `d=$(mktemp -d /var/vcap/data/etcd-evidence.XXXXXX)`,
    `cleanup() { [ -n "\${pid:-}" ] && kill "$pid" 2>/dev/null; [ -n "\${pid:-}" ] && wait "$pid" 2>/dev/null; rm -rf "$d" "$d.log"; }`,
    'trap cleanup EXIT',
    `cp -a ${cmd.MEMBER_DIR} "$d/member" || { echo "copy of ${cmd.MEMBER_DIR} failed" >&2; exit 4; }`,
    'p=$((20000 + RANDOM % 20000)); q=$((p + 1))',
    `${ETCD_BIN} --name evidence --data-dir "$d" --listen-client-urls http://127.0.0.1:$p --advertise-client-urls http://127.0.0.1:$p --listen-peer-urls http://127.0.0.1:$q --initial-advertise-peer-urls http://127.0.0.1:$q --initial-cluster evidence=http://127.0.0.1:$q --force-new-cluster >"$d.log" 2>&1 &`,
    'pid=$!',
    'for _ in $(seq 1 40); do',
    `  out=$(ETCDCTL_API=3 ${ETCDCTL_BIN} --endpoints http://127.0.0.1:$p --dial-timeout=1s --command-timeout=2s endpoint status -w json 2>/dev/null) && { echo "$out"; exit 0; }`,
    '  kill -0 "$pid" 2>/dev/null || break',
    '  sleep 0.5',
    'done',
    `echo "etcd on the copy did not answer; its log:" >&2; tail -n 20 "$d.log" >&2; exit 5`,
  ].join('\n');
  return {
    command: `bash -c ${shellQuote(script)}`,
    mutates: false,
    purpose:
      "read a stopped member's raft term, index and revision from a copy of its data (started read-only in a scratch directory, then stopped and removed)",
  };
}

/** The status row of an `endpoint status -w json` output (own or offline), with the health section. */
export function parseStatusRead(out: string): {
  status?: ParsedEndpointStatus;
  healthy?: boolean;
  memberCount?: number;
  error?: string;
} {
  const [json, rest] = out.split('### health');
  const [health, members] = (rest ?? '').split('### members');
  let status: ParsedEndpointStatus | undefined;
  let error: string | undefined;
  try {
    status = parseEndpointStatusJson(json.trim())[0];
  } catch (e) {
    error = (e as Error).message;
  }
  const healthy = rest === undefined ? undefined : /is healthy/.test(health) && !/is unhealthy/.test(health);
  const rows = (members ?? '').split('\n').filter((l) => /^[0-9a-f]+, /.test(l.trim()));
  return { status, healthy, memberCount: rows.length || undefined, error };
}

export function withStatus(e: MasterEvidence, s: ParsedEndpointStatus): MasterEvidence {
  return {
    ...e,
    raftTerm: BigInt(s.raftTerm),
    raftIndex: BigInt(s.raftIndex),
    revision: s.revision !== undefined ? BigInt(s.revision) : undefined,
    clusterId: s.clusterId,
    memberId: s.memberId,
  };
}

/** Ranking of the masters with data: raft index (committed entries), then revision, then term. */
function cmp(a: MasterEvidence, b: MasterEvidence): number {
  const keys: (keyof MasterEvidence)[] = ['raftIndex', 'revision', 'raftTerm'];
  for (const k of keys) {
    const x = (a[k] as bigint | undefined) ?? -1n;
    const y = (b[k] as bigint | undefined) ?? -1n;
    if (x !== y) return x > y ? -1 : 1;
  }
  return 0;
}

export interface Ranking {
  /** Masters with data whose numbers were read, most advanced first. */
  ranked: MasterEvidence[];
  /** The most advanced, when it is unambiguous (ahead of the second by raft index or revision). */
  preselected?: MasterEvidence;
  /** Why nothing is preselected. */
  ambiguity?: string;
}

export function rankSurvivors(all: MasterEvidence[]): Ranking {
  const withData = all.filter((e) => e.dataPresent);
  const unread = withData.filter((e) => e.raftIndex === undefined);
  const ranked = withData.filter((e) => e.raftIndex !== undefined).sort(cmp);
  if (!ranked.length)
    return {
      ranked,
      ambiguity: withData.length
        ? `the data of ${unread.map((e) => e.label).join(', ')} could not be read`
        : 'no master has etcd data left: restore from a snapshot (bosh-etcd restore)',
    };
  if (unread.length)
    return {
      ranked,
      ambiguity: `the data of ${unread.map((e) => e.label).join(', ')} could not be read: it might be more advanced`,
    };
  const ids = new Set(ranked.map((e) => e.clusterId).filter(Boolean));
  if (ids.size > 1) return { ranked, ambiguity: `the survivors belong to different clusters (${[...ids].join(', ')})` };
  if (ranked.length > 1 && cmp(ranked[0], ranked[1]) === 0)
    return {
      ranked,
      ambiguity: `${ranked[0].label} and ${ranked[1].label} are equally advanced (raft index ${ranked[0].raftIndex}, revision ${ranked[0].revision})`,
    };
  return { ranked, preselected: ranked[0] };
}

/** One line per master for the operator: data, numbers, and how far it is ahead of or behind the survivor. */
export function describeEvidence(e: MasterEvidence, survivor?: MasterEvidence): string {
  const nums =
    e.raftIndex !== undefined
      ? `raft term ${e.raftTerm}, raft index ${e.raftIndex}, revision ${e.revision ?? '?'} (${e.source === 'own-status' ? "the member's own status" : 'read offline from a copy of its data'})`
      : (e.note ?? 'no numbers');
  const role = e.bootstrap ? ' (bootstrap)' : '';
  let delta = '';
  if (survivor && e !== survivor && e.revision !== undefined && survivor.revision !== undefined) {
    const d = e.revision - survivor.revision;
    delta =
      d > 0n
        ? `; ${d} revisions AHEAD of the survivor: they are lost`
        : d < 0n
          ? `; ${-d} revisions behind the survivor`
          : '; same revision as the survivor';
  }
  return `${e.label}${role}: ${e.dataPresent ? 'data present' : 'no data'}, etcd ${e.running ? 'running' : 'not running'}; ${nums}${delta}`;
}
