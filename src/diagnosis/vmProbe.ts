// The read-only probe of one master VM over SSH: one shell command (monit, member/, the etcd process,
// the tail of etcd.stderr.log, free disk, the job's quota, and etcd's health asked on the VM itself),
// its parser, and running it on a connected host. Plain Node, no `vscode`.
import { parseMonitSummary, findService } from '../bosh/monit';
import type { RemoteHost } from '../ssh/types';
import { parseEndpointHealth, parseEndpointStatusJson } from '../etcd/parsers';
import type { VmProbe } from './observationTypes';
import { nonEmptyLines, probeSections } from '../util/probeOutput';

export const ETCD_JOB_DIR = '/var/vcap/jobs/etcd';
export const ETCDCTL_WRAPPER = `${ETCD_JOB_DIR}/bin/etcdctl`;
export const STORE_DIR = '/var/vcap/store';
export const DATA_DIR = `${STORE_DIR}/etcd`;
export const MEMBER_DIR = `${DATA_DIR}/member`;
export const ETCD_STDERR_LOG = '/var/vcap/sys/log/etcd/etcd.stderr.log';
/** bpm's pidfile (TKGI), then the pre-bpm job's. */
export const ETCD_PIDFILES = ['/var/vcap/sys/run/bpm/etcd/etcd.pid', '/var/vcap/sys/run/etcd/etcd.pid'];
/** etcd's default `--quota-backend-bytes` (2 GiB) when the job does not set one. */
export const DEFAULT_QUOTA_BYTES = 2 * 1024 * 1024 * 1024;

const LOG_LINES_MAX = 500;

/** The probe's shell command (read-only; run with sudo). Sections start with `### <name>`. */
export function probeCommand(logLines = 50): string {
  const n = Math.max(1, Math.min(LOG_LINES_MAX, Math.floor(logLines)));
  const s = (name: string) => `echo '### ${name}'`;
  const local = `LOCAL=true ETCDCTL_API=3 timeout 12 ${ETCDCTL_WRAPPER} --dial-timeout=3s --command-timeout=5s`;
  return [
    s('monit'),
    'monit summary 2>&1 || /var/vcap/bosh/bin/monit summary 2>&1',
    s('data'),
    `ls -1A ${DATA_DIR} 2>&1`,
    s('member'),
    `test -d ${MEMBER_DIR} && echo present || echo absent`,
    s('pid'),
    `for f in ${ETCD_PIDFILES.join(' ')}; do test -s $f && p=$(cat $f) && kill -0 "$p" 2>/dev/null && echo "$p" && break; done`,
    s('df'),
    `df -Pk ${STORE_DIR} 2>&1`,
    s('quota'),
    // the running process's flag first, else the job's start script
    `for f in ${ETCD_PIDFILES.join(' ')}; do test -s $f && tr '\\0' '\\n' < /proc/$(cat $f)/cmdline 2>/dev/null | grep -E '^--quota-backend-bytes' && break; done; ` +
      `grep -oE -- '--quota-backend-bytes[= ]"?[0-9]+' ${ETCD_JOB_DIR}/bin/etcd 2>/dev/null | head -1`,
    s('peer'),
    `bash -c 'source ${ETCD_JOB_DIR}/bin/utils.sh >/dev/null 2>&1; echo "\${etcd_peer_address}"'`,
    s('log'),
    // tail seeks to the end: a huge log costs the same as a small one
    `test -f ${ETCD_STDERR_LOG} && tail -n ${n} ${ETCD_STDERR_LOG} | cut -c1-600 || echo '(no log file)'`,
    s('health'),
    // etcdctl retries a refused connection until --command-timeout (5 s for health, 5 s more for
    // status): when nothing accepts connections on the member's client URL on its own VM, that is
    // the answer at once (bash's /dev/tcp; a connect that hangs, exit 124, still asks etcdctl).
    `a=$(bash -c 'source ${ETCD_JOB_DIR}/bin/utils.sh >/dev/null 2>&1; echo "\${etcd_endpoint_address}"'); hp=\${a#*://}; hp=\${hp%%/*}; up=yes; ` +
      `if [ -n "$hp" ]; then e=$(timeout 2 bash -c "exec 3<>/dev/tcp/\${hp%:*}/\${hp##*:}" 2>&1); rc=$?; ` +
      `if [ $rc -ne 0 ] && [ $rc -ne 124 ]; then up=no; fi; fi; ` +
      `if [ $up = no ]; then echo "connection refused: nothing accepts connections on $a on this VM ($(echo $e | tail -c 200))"; echo "exit=1"; ` +
      `else ${local} endpoint health -w json 2>&1; echo "exit=$?"; fi`,
    s('status'),
    `[ $up = no ] || ${local} endpoint status -w json 2>/dev/null`,
    s('end'),
    'true',
  ].join('; ');
}

export function emptyProbe(label: string, error: string, tookMs = 0): VmProbe {
  return {
    label,
    reachable: false,
    error,
    monitProcesses: [],
    memberDirExists: false,
    dataDirEntries: null,
    etcdPid: null,
    logTail: [],
    logMissing: false,
    storeFreeBytes: null,
    storeSizeBytes: null,
    quotaBytes: null,
    peerAddress: null,
    localHealth: null,
    localStatus: null,
    tookMs,
  };
}

/** Parses the output of `probeCommand()`. */
export function parseVmProbe(label: string, out: string, tookMs = 0): VmProbe {
  const s = probeSections(out);
  const p = emptyProbe(label, '', tookMs);
  p.reachable = true;
  delete p.error;
  try {
    const summary = parseMonitSummary(s.get('monit') ?? '');
    p.monitProcesses = summary.services.filter((x) => x.type === 'Process');
    p.monitEtcd = findService(summary, 'etcd');
  } catch (e) {
    p.monitError = `monit summary could not be read: ${(e as Error).message.slice(0, 200)}`;
  }
  const data = nonEmptyLines(s.get('data'));
  p.dataDirEntries = data.some((l) => /No such file or directory/.test(l)) ? null : data;
  p.memberDirExists = nonEmptyLines(s.get('member'))[0] === 'present';
  const pid = Number(nonEmptyLines(s.get('pid'))[0]);
  p.etcdPid = Number.isInteger(pid) && pid > 0 ? pid : null;
  const df = nonEmptyLines(s.get('df'));
  if (df.length >= 2) {
    const cols = df[df.length - 1].split(/\s+/);
    const size = Number(cols[1]);
    const free = Number(cols[3]);
    if (Number.isFinite(free)) p.storeFreeBytes = free * 1024;
    if (Number.isFinite(size)) p.storeSizeBytes = size * 1024;
  }
  const q = /--quota-backend-bytes[= ]"?(\d+)/.exec(s.get('quota') ?? '');
  p.quotaBytes = q ? Number(q[1]) : null;
  p.peerAddress = nonEmptyLines(s.get('peer'))[0] ?? null;
  const log = (s.get('log') ?? '').split('\n').filter((l) => l.length > 0);
  p.logMissing = log.length === 1 && log[0] === '(no log file)';
  p.logTail = p.logMissing ? [] : log;
  p.localHealth = parseLocalHealth(s.get('health') ?? '');
  p.localStatus = parseLocalStatus(s.get('status') ?? '');
  return p;
}

function parseLocalHealth(text: string): VmProbe['localHealth'] {
  const exit = /exit=(\d+)\s*$/.exec(text.trim());
  const body = text.replace(/exit=\d+\s*$/, '').trim();
  const jsonStart = body.indexOf('[');
  if (jsonStart >= 0) {
    try {
      const rows = parseEndpointHealth(body.slice(jsonStart, body.lastIndexOf(']') + 1));
      if (rows.length) {
        const r = rows[0];
        return {
          healthy: r.healthy && exit?.[1] === '0',
          detail: r.healthy ? `healthy (took ${r.tookMs} ms)` : (r.error ?? 'unhealthy'),
        };
      }
    } catch {
      /* fall through to the text */
    }
  }
  if (!exit && !body) return null;
  const firstError = body.split('\n').find((l) => /error|failed|unhealthy|deadline|refused/i.test(l)) ?? body;
  return { healthy: false, detail: (firstError || `exit ${exit?.[1]}`).slice(0, 300) };
}

function parseLocalStatus(text: string): VmProbe['localStatus'] {
  const t = text.trim();
  if (!t.startsWith('[')) return null;
  try {
    const r = parseEndpointStatusJson(t)[0];
    if (!r) return null;
    return {
      memberId: r.memberId,
      clusterId: r.clusterId,
      leader: r.leader,
      dbSize: r.dbSize,
      dbSizeInUse: r.dbSizeInUse,
    };
  } catch {
    return null;
  }
}

/** Runs the probe on one connected VM; a failure is a value (reachable: false, error says why). */
export async function probeVmHost(
  host: RemoteHost,
  label: string,
  opts: { timeoutMs?: number; logLines?: number } = {},
) {
  const t0 = Date.now();
  const timeoutMs = opts.timeoutMs ?? 25_000;
  const once = () => host.exec(probeCommand(opts.logLines), { sudo: true, timeoutMs });
  try {
    let r;
    try {
      r = await once();
    } catch (e) {
      // a connection that dropped since the last use reconnects at the next exec: one more try
      if ((e as { kind?: string }).kind !== 'dropped') throw e;
      r = await once();
    }
    if (r.code !== 0)
      return emptyProbe(
        label,
        `inspecting ${label} failed (exit ${r.code ?? r.signal}): ${r.stderr.trim().slice(0, 300)}`,
        Date.now() - t0,
      );
    return parseVmProbe(label, r.stdout, Date.now() - t0);
  } catch (e) {
    return emptyProbe(label, `could not inspect ${label} over SSH: ${(e as Error).message}`, Date.now() - t0);
  }
}
