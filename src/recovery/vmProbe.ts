// The read-only probe of one master VM: what `probeVm()` prints (monit, data directory, member/
// owner, disk space, peer address, resume marker, etcd process) parsed into a VmProbe, and the
// probe run over SSH. No `vscode` import here.
import { findService, parseMonitSummary, type MonitService, type MonitSummary } from '../bosh/monit';
import type { RemoteHost, ExecResult } from '../ssh/types';
import { parseResumeMarker, type ResumeMarker } from '../session/resumeMarker';
import { probeVm } from './commands';
import { nonEmptyLines, probeSections } from '../util/probeOutput';

export type MonitState =
  | 'running'
  | 'not-monitored'
  | 'stop-pending'
  | 'start-pending'
  | 'does-not-exist'
  | 'failed'
  | 'initializing'
  | 'missing'
  | 'unknown';

/** The recovery state file left on the target by a run that started changing things. */
export interface RecoveryStateRecord {
  ts: string;
  oldMemberId: string | null;
  snapshot: string | null;
  snapshotHost: string | null;
  /** The whole marker (run id, instance, added member). */
  marker?: ResumeMarker;
}

/** What a read-only probe found on one master VM. */
export interface VmProbe {
  instance: string;
  reachable: boolean;
  error?: string;
  monitEtcd: MonitState;
  /** monit's own words for etcd, e.g. 'Not monitored', 'running'. */
  monitText: string;
  /** Entries of /var/vcap/store/etcd, null when the directory does not exist. */
  dataEntries: string[] | null;
  memberDir: { exists: boolean; owner: string | null; entries: string[] };
  /** Entries of /var/vcap/store (backups, snapshots, state file). */
  storeEntries: string[];
  /** Free space on /var/vcap/store, KiB. */
  freeKb: number | null;
  /** `${etcd_peer_address}` as the job's utils.sh computes it on the VM. */
  peerAddress: string | null;
  state: RecoveryStateRecord | null;
  etcdAlive: boolean;
  /** The VM's etcd package ships etcdutl (etcd 3.5's offline tool). */
  etcdutl: boolean;
  raw: string;
}

/** etcd's state in monit's words, mapped finer than the agent does: the plan tells stopping from stopped. */
function monitStateOf(svc: MonitService): MonitState {
  const status = svc.status.toLowerCase();
  const notMonitored = status.startsWith('not monitored');
  if (svc.pending) {
    // 5.33 may cut the action short ('sto', 'star'): a prefix names it.
    if ('stop'.startsWith(svc.pending)) return 'stop-pending';
    if (notMonitored || 'start'.startsWith(svc.pending) || 'restart'.startsWith(svc.pending)) return 'start-pending';
    return 'unknown';
  }
  if (notMonitored) return 'not-monitored';
  if (status === 'running' || status === 'ok') return 'running';
  if (status.includes('does not exist')) return 'does-not-exist';
  if (status.includes('initializing')) return 'initializing';
  if (status.includes('failed') || status.includes('error')) return 'failed';
  return 'unknown';
}

/** etcd's state from `monit summary` output (BOSH's 5.2.5 or Debian's 5.33), read by the monit parser. */
export function etcdMonitState(summary: string): { state: MonitState; text: string } {
  let parsed: MonitSummary;
  try {
    parsed = parseMonitSummary(summary);
  } catch (e) {
    // monit itself failed (e.g. its daemon is down): its own words are the best description
    const said = summary.split(/\r?\n/).find((l) => l.trim() !== '');
    return { state: 'unknown', text: said?.trim() ?? (e as Error).message };
  }
  const etcd = findService(parsed, 'etcd');
  if (!etcd) return { state: 'missing', text: '' };
  const text = `${etcd.status}${etcd.pending ? ` - ${etcd.pending} pending` : ''}${etcd.truncated ? '...' : ''}`;
  return { state: monitStateOf(etcd), text };
}

/** The resume marker's text as the plan reads it (null: none, or not a marker). */
export function parseStateFile(text: string): RecoveryStateRecord | null {
  const m = parseResumeMarker(text);
  if (!m) return null;
  return { ts: m.ts, oldMemberId: m.removedMemberId, snapshot: m.snapshot, snapshotHost: m.snapshotHost, marker: m };
}

/** Parses the output of `probeVm()`. */
export function parseProbe(instance: string, out: string): VmProbe {
  const s = probeSections(out);
  const monit = etcdMonitState(s.get('monit') ?? '');
  const data = nonEmptyLines(s.get('data'));
  const dataMissing = data.some((l) => /No such file or directory/.test(l));
  const memberLines = nonEmptyLines(s.get('member'));
  const memberExists =
    memberLines.length > 0 && /^[^:\s]+:[^:\s]+$/.test(memberLines[0]) && !/No such file/.test(memberLines[0]);
  const df = nonEmptyLines(s.get('df'));
  let freeKb: number | null = null;
  if (df.length >= 2) {
    const cols = df[df.length - 1].split(/\s+/);
    const n = Number(cols[3]);
    if (Number.isFinite(n)) freeKb = n;
  }
  const peer = nonEmptyLines(s.get('peer'))[0] ?? null;
  const pid = nonEmptyLines(s.get('pid'));
  return {
    instance,
    reachable: true,
    monitEtcd: monit.state,
    monitText: monit.text,
    dataEntries: dataMissing ? null : data,
    memberDir: {
      exists: memberExists,
      owner: memberExists ? memberLines[0] : null,
      entries: memberExists ? memberLines.slice(1).filter((l) => !/No such file/.test(l)) : [],
    },
    storeEntries: nonEmptyLines(s.get('store')).filter((l) => !/No such file/.test(l)),
    freeKb,
    peerAddress: peer && peer.length > 0 ? peer : null,
    state: parseStateFile(s.get('state') ?? ''),
    etcdAlive: pid.includes('alive'),
    etcdutl: nonEmptyLines(s.get('etcdutl')).includes('present'),
    raw: out,
  };
}

export function unreachableProbe(instance: string, error: string): VmProbe {
  return {
    instance,
    reachable: false,
    error,
    monitEtcd: 'unknown',
    monitText: '',
    dataEntries: null,
    memberDir: { exists: false, owner: null, entries: [] },
    storeEntries: [],
    freeKb: null,
    peerAddress: null,
    state: null,
    etcdAlive: false,
    etcdutl: false,
    raw: '',
  };
}

export async function probeHost(host: RemoteHost, label: string): Promise<VmProbe> {
  let r: ExecResult;
  try {
    r = await host.exec(probeVm().command, { sudo: true, timeoutMs: 30_000 });
  } catch (e) {
    return unreachableProbe(label, `could not inspect ${label} over SSH: ${(e as Error).message}`);
  }
  if (r.code !== 0)
    return unreachableProbe(label, `inspecting ${label} failed (exit ${r.code ?? r.signal}): ${r.stderr.trim()}`);
  return parseProbe(label, r.stdout);
}
