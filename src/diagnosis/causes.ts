// Why a member is down, as its VM tells it (monit, the etcd process, etcd.stderr.log, the disk),
// the words for each cause and the action that fits it. Pure, plain Node.
import type { InstanceInfo } from '../bosh/types';
import { bytes } from './describe';
import { labelOf, type VmProbe } from './observe';
import type { FindingAction, MemberDownCause } from './types';

interface CauseRule {
  cause: MemberDownCause;
  pattern: RegExp;
}

/** In order: the first rule matching a line names the cause (more specific first). */
const LOG_RULES: CauseRule[] = [
  { cause: 'disk-full', pattern: /no space left on device/i },
  {
    cause: 'member-removed',
    pattern:
      /permanently removed from the cluster|ID removed|has already been removed|member .* (was|has been) removed/i,
  },
  { cause: 'member-count-unequal', pattern: /member count is unequal|error validating peerURLs/i },
  { cause: 'unhealthy-cluster', pattern: /unhealthy cluster/i },
  {
    cause: 'data-corruption',
    pattern: /panic|invalid database|checksum error|corrupt|file size too small|crc mismatch/i,
  },
  { cause: 'tls', pattern: /x509: |certificate (has expired|is not valid|signed by unknown)|tls: bad certificate/i },
];

/** A line etcd prints once it serves: any error before the last such line is from an earlier run. */
const SERVING =
  /ready to serve client requests|serving client traffic|published local member to cluster|published \{Name:/i;

const GO_STACK = /^\s|^goroutine \d|\.go:\d+|\(0x[0-9a-f]+\??[,)]/;

/** The most recent cause in the log tail (lines after the last "serving" line only), with its line. */
export function causeFromLog(lines: string[]): { cause: MemberDownCause; line: string } | null {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i];
    if (SERVING.test(line)) return null;
    // a Go stack trace below a panic names functions, not the reason: the panic line above says it
    if (GO_STACK.test(line)) continue;
    for (const r of LOG_RULES) if (r.pattern.test(line)) return { cause: r.cause, line: line.trim() };
  }
  return null;
}

/** Why a member whose VM says it is not healthy is down. */
export function causeFromProbe(p: VmProbe): { cause: MemberDownCause; evidence: string; line?: string } {
  const monit = p.monitEtcd
    ? `monit: etcd ${p.monitEtcd.status}${p.monitEtcd.pending ? ` - ${p.monitEtcd.pending} pending` : ''}`
    : 'monit lists no etcd';
  const local = p.localHealth ? `health on the VM: ${p.localHealth.detail}` : 'health on the VM not available';
  const notMonitored = p.monitEtcd && /^not monitored/i.test(p.monitEtcd.status) && !p.monitEtcd.pending;
  // stopped with its data gone: `monit start` would not bring the member back, replacing it would
  if (notMonitored && p.etcdPid === null && !p.memberDirExists)
    return {
      cause: 'data-missing',
      evidence: `${monit}; no etcd process; /var/vcap/store/etcd/member is missing (the data was wiped)`,
    };
  if (notMonitored && p.etcdPid === null) return { cause: 'stopped', evidence: `${monit}; no etcd process (stopped)` };
  const fromLog = causeFromLog(p.logTail);
  if (fromLog)
    return {
      cause: fromLog.cause,
      evidence: `${monit}; etcd.stderr.log: "${fromLog.line.slice(0, 240)}"`,
      line: fromLog.line,
    };
  if (!p.memberDirExists)
    return { cause: 'data-missing', evidence: `${monit}; /var/vcap/store/etcd/member is missing (the data was wiped)` };
  if (p.storeFreeBytes !== null && p.storeFreeBytes < 1024 * 1024)
    return { cause: 'disk-full', evidence: `${monit}; /var/vcap/store has ${bytes(p.storeFreeBytes)} free` };
  if (p.etcdPid !== null)
    return { cause: 'unresponsive', evidence: `${monit}; etcd (pid ${p.etcdPid}) runs but does not answer; ${local}` };
  return { cause: 'failing', evidence: `${monit}; no etcd process; ${local}` };
}

export const CAUSE_WORDS: Record<MemberDownCause, string> = {
  'unhealthy-cluster':
    'its self-add was refused ("unhealthy cluster"): the data was wiped while its old member is still registered',
  'data-corruption': 'its data is corrupt (etcd panics at start)',
  'member-count-unequal':
    'its data does not match the cluster\'s membership ("member count is unequal" / peer URL validation)',
  'member-removed': 'it was removed from the cluster and its data still says it is a member',
  tls: 'a certificate / TLS error',
  'disk-full': 'the disk is full ("no space left on device")',
  'data-missing': 'its data directory is empty',
  stopped: 'etcd is stopped',
  unresponsive: 'etcd runs but does not answer, not even on the VM',
  failing: 'etcd is not running and the log does not say why',
  'vm-down': 'the VM is down (the Director reports no responsive agent)',
};

/** Causes whose member cannot come back by starting it: its data is gone or not usable, the member is replaced. */
export const REPLACE_CAUSES: ReadonlySet<MemberDownCause> = new Set<MemberDownCause>([
  'unhealthy-cluster',
  'data-corruption',
  'member-count-unequal',
  'member-removed',
  'data-missing',
]);

export function actionForCause(cause: MemberDownCause, inst: InstanceInfo, deployment: string): FindingAction {
  const label = labelOf(inst);
  const d = `bosh -d ${deployment}`;
  switch (cause) {
    case 'unhealthy-cluster':
    case 'data-corruption':
    case 'member-count-unequal':
    case 'member-removed':
    case 'data-missing':
      return {
        flow: 'recover-member',
        text: `Replace the member of ${label} (BOSH etcd: Recover etcd Member…, or bosh-etcd recover ${label}).`,
      };
    case 'disk-full':
      return {
        flow: 'bosh',
        text: `Free space on /var/vcap/store of ${label} or give the master a larger persistent disk, then start etcd.`,
        command: `${d} ssh ${label} -c 'df -h /var/vcap/store; sudo du -sh /var/vcap/store/*'`,
      };
    case 'stopped':
      return {
        flow: 'bosh',
        text: `Start etcd on ${label} (monit start etcd through bosh ssh, or restart the instance's jobs).`,
        command: `${d} ssh ${label} -c 'sudo /var/vcap/bosh/bin/monit start etcd'`,
      };
    case 'unresponsive':
      return {
        flow: 'bosh',
        text: `Restart etcd on ${label}; if it still does not answer, look at etcd.stderr.log.`,
        command: `${d} ssh ${label} -c 'sudo /var/vcap/bosh/bin/monit restart etcd'`,
      };
    case 'vm-down':
      return {
        flow: 'bosh',
        text: `Bring the VM back: cloud-check recreates it with its persistent disk (etcd's data is kept).`,
        command: `${d} cloud-check`,
      };
    case 'tls':
      return {
        flow: 'none',
        text: `Investigate the certificates of ${label} (/var/vcap/jobs/etcd/config): expired or not signed by the cluster's CA.`,
      };
    case 'failing':
      return { flow: 'none', text: `Investigate ${label}: read /var/vcap/sys/log/etcd/etcd.stderr.log and monit.log.` };
  }
}
