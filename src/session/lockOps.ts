// The per-VM operations of the cluster lock (see clusterLock.ts): every read-check-write of a master's
// lock file is one shell script run with sudo under `flock` on a guard file next to it, so creating,
// heart-beating, breaking and releasing are each atomic on that VM. Also the SSH connections to the
// masters, each bounded by a deadline. Plain Node, no `vscode`.
import type { InstanceInfo } from '../bosh/types';
import type { RemoteHost } from '../ssh/types';
import { withTimeout } from '../util/async';
import { etcdInstances } from './etcdEndpoints';
import { label, LOCK_FILE, type LockReport, type LockSession } from './lockFile';

export const DEFAULT_CONNECT_TIMEOUT_MS = 60_000;
const OP_TIMEOUT_MS = 30_000;

/**
 * One atomic operation on a master's lock file, under flock:
 *   mode read:   only report;
 *   mode absent: write stdin if there is no lock file;
 *   mode run:    write stdin (or remove the file when REMOVE=1) if the file names run RUN;
 *   mode exact:  write stdin if the file's bytes equal EXPECT.
 * Prints `ok` or `mismatch`, then the file's state afterwards (VM time, mtime, base64 content).
 */
function lockOpScript(): string {
  return [
    `L=${LOCK_FILE}`,
    'exec 9>>"$L.guard" || exit 97',
    'flock -w 20 9 || { echo "cannot take the guard lock $L.guard within 20 s" >&2; exit 98; }',
    'match=0',
    'case "$MODE" in',
    '  absent) [ -e "$L" ] || match=1 ;;',
    '  run) [ -e "$L" ] && grep -qF "\\"runId\\":\\"$RUN\\"" "$L" && match=1 ;;',
    `  exact) [ -e "$L" ] && printf '%s' "$EXPECT" | cmp -s - "$L" && match=1 ;;`,
    'esac',
    'if [ "$MODE" = read ]; then echo read',
    'elif [ $match = 1 ]; then',
    '  if [ "$REMOVE" = 1 ]; then rm -f "$L" || exit 99',
    '  else t="$L.tmp.$$"; { cat > "$t" && chmod 0644 "$t" && mv -f "$t" "$L"; } || { rm -f "$t"; exit 99; }',
    '  fi; echo ok',
    'else cat > /dev/null; echo mismatch; fi',
    'echo "now=$(date +%s)"',
    'if [ -e "$L" ]; then echo "mtime=$(stat -c %Y "$L")"; echo "content=$(base64 -w0 < "$L")"; else echo absent; fi',
  ].join('\n');
}

export interface OpResult {
  outcome: 'ok' | 'mismatch' | 'read';
  /** The file afterwards: null when absent. */
  content: string | null;
  ageMs?: number;
}

type OpMode =
  { mode: 'read' } | { mode: 'absent' } | { mode: 'run'; runId: string } | { mode: 'exact'; expect: string };

export async function lockOp(
  host: RemoteHost,
  op: OpMode,
  write: { content?: string; remove?: boolean },
): Promise<OpResult> {
  const env: Record<string, string> = { MODE: op.mode, REMOVE: write.remove ? '1' : '0' };
  if (op.mode === 'run') env.RUN = op.runId;
  if (op.mode === 'exact') env.EXPECT = op.expect;
  const r = await host.exec(lockOpScript(), {
    sudo: true,
    env,
    stdin: write.content ?? '',
    timeoutMs: OP_TIMEOUT_MS,
  });
  const lines = r.stdout.split('\n').map((l) => l.trim());
  const outcome = lines[0];
  if (r.code !== 0 || (outcome !== 'ok' && outcome !== 'mismatch' && outcome !== 'read')) {
    throw new Error(
      `the lock file ${LOCK_FILE} on ${host.label} could not be handled (exit ${r.code ?? r.signal}): ${r.stderr.trim() || r.stdout.trim()}. ` +
        'Check that /var/vcap/store is mounted and writable and that flock is installed.',
    );
  }
  const kv = new Map<string, string>();
  for (const l of lines.slice(1)) {
    const i = l.indexOf('=');
    if (i > 0) kv.set(l.slice(0, i), l.slice(i + 1));
  }
  const b64 = kv.get('content');
  const content = b64 !== undefined ? Buffer.from(b64, 'base64').toString('utf8') : null;
  const now = Number(kv.get('now'));
  const mtime = Number(kv.get('mtime'));
  const ageMs = content !== null && Number.isFinite(now) && Number.isFinite(mtime) ? (now - mtime) * 1000 : undefined;
  return { outcome, content, ageMs };
}

/** A master and its SSH connection. */
export interface MasterHost {
  inst: InstanceInfo;
  host: RemoteHost;
}

/**
 * The etcd masters (index order), connected in parallel; those not reachable in time are reported.
 * They are found in the Director's quick list (no agent calls: it names them by their instance group
 * 'master', as CFCR and TKGI deploy them), and in the full list only when that names none (etcd in a
 * group of another name, found by its process): the full list is a Director task that asks every
 * agent, a round trip per VM before the first lock write.
 */
export async function connectMasters(
  session: LockSession,
  timeoutMs: number,
  log: (l: string) => void,
): Promise<{ all: InstanceInfo[]; hosts: MasterHost[]; unreachable: LockReport[] }> {
  const quick = etcdInstances(session.instancesQuick ? await session.instancesQuick().catch(() => []) : []);
  const all = quick.length ? quick : etcdInstances(await session.instances());
  const attempts = await Promise.all(
    all.map(async (inst) => {
      if (!inst.ips.length) return { inst, error: 'no VM' };
      try {
        const host = await withTimeout(
          session.ssh(inst),
          timeoutMs,
          () => new Error(`no SSH connection within ${Math.round(timeoutMs / 1000)} s`),
        );
        return { inst, host };
      } catch (e) {
        log(`lock: ${label(inst)} is not reachable: ${(e as Error).message}`);
        return { inst, error: (e as Error).message };
      }
    }),
  );
  const hosts: MasterHost[] = [];
  const unreachable: LockReport[] = [];
  for (const a of attempts) {
    if (a.host) hosts.push({ inst: a.inst, host: a.host });
    else unreachable.push({ instance: label(a.inst), state: 'unreachable', error: a.error });
  }
  return { all, hosts, unreachable };
}
