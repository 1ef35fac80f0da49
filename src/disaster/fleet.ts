// Fleet-wide steps of a disaster recovery, on every master of a deployment through monit: stop and
// start kube-apiserver (and the job's other etcd clients monit runs), stop etcd everywhere and verify
// it is down, move a member's data aside (timestamped, never deleted). The per-master sequences of a
// step run on every master at once (onEveryMaster). Every command goes through the
// run's visible `exec` (src/recovery/context.ts), so it is shown and lands in the transcript.
// Shared by the quorum-loss flow (src/disaster/quorum.ts) and the restore from a snapshot.
// No `vscode` import here.
import { findService, parseMonitSummary, type MonitService } from '../bosh/monit';
import * as cmd from '../recovery/commands';
import type { RemoteCommand } from '../recovery/commands';
import type { PlannedCommand } from '../recovery/events';
import type { VmProbe } from '../recovery/vmProbe';
import type { ExecResult } from '../ssh/types';

/**
 * What the fleet steps need from a run: src/recovery/context.ts's Run provides all of it, and so does
 * src/disaster/context.ts's DisasterRun.
 */
export interface FleetRun {
  exec(
    pc: Pick<PlannedCommand, 'host' | 'command' | 'purpose' | 'mutates'>,
    o?: { allowFail?: boolean; timeoutMs?: number },
  ): Promise<ExecResult>;
  until<T>(what: string, ms: number, f: () => Promise<T | undefined>, interval?: number): Promise<T>;
  check(name: string, ok: boolean, detail: string): void;
  info(message: string): void;
  skipped(pc: Pick<PlannedCommand, 'host' | 'command' | 'purpose' | 'mutates'>, reason: string): void;
  /** The read-only probe of a master (monit, data directory, etcd pid). */
  probe(label: string): Promise<VmProbe>;
}

/**
 * The job's processes that talk to etcd, stopped before and started after a disaster recovery so
 * nothing writes meanwhile: TKGI/CFCR's kube-apiserver; flanneld where a master runs it (it uses
 * etcd's v2 API). Only those the VM's `monit summary` lists are touched.
 */
export const ETCD_CLIENT_PROCESSES = ['kube-apiserver', 'flanneld'] as const;

function validateProcess(name: string): string {
  if (!(ETCD_CLIENT_PROCESSES as readonly string[]).includes(name) && name !== 'etcd')
    throw new cmd.ValidationError(`${JSON.stringify(name)} is not a process the disaster recovery stops or starts`);
  return name;
}

export function monitStopProcess(name: string): RemoteCommand {
  return {
    command: `monit stop ${validateProcess(name)}`,
    mutates: true,
    purpose: `stop ${name} (monit stops watching it) so nothing writes to etcd`,
  };
}

export function monitStartProcess(name: string): RemoteCommand {
  return { command: `monit start ${validateProcess(name)}`, mutates: true, purpose: `start ${name} under monit` };
}

/** The etcd clients in a `monit summary` output, as monit lists them. */
export function etcdClientsIn(summary: string): MonitService[] {
  const parsed = parseMonitSummary(summary);
  return ETCD_CLIENT_PROCESSES.map((n) => findService(parsed, n)).filter((s): s is MonitService => !!s);
}

const isStopped = (s: MonitService) => s.status.toLowerCase().startsWith('not monitored') && !s.pending;
const isRunning = (s: MonitService) => s.state === 'running' && !s.pending;

async function clientsOn(r: FleetRun, host: string): Promise<MonitService[]> {
  const res = await r.exec({ host, ...cmd.monitSummary() });
  return etcdClientsIn(res.stdout);
}

export interface FleetTimeouts {
  /** Per master, for monit to stop or start a process. */
  monitMs: number;
}

const DEFAULTS: FleetTimeouts = { monitMs: 90_000 };

/**
 * `f` on every master at once (each master's own sequence unchanged); waits for all of them before a
 * failure is reported, so nothing of the step still runs when the run stops.
 */
export async function onEveryMaster(masters: string[], f: (host: string) => Promise<void>): Promise<void> {
  const settled = await Promise.allSettled(masters.map(f));
  const failed = settled.find((x): x is PromiseRejectedResult => x.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Stops kube-apiserver (and the other etcd clients monit lists) on every master; verifies monit stopped them. */
export async function stopEtcdClients(r: FleetRun, masters: string[], t: FleetTimeouts = DEFAULTS): Promise<void> {
  await onEveryMaster(masters, async (host) => {
    const found = await clientsOn(r, host);
    if (!found.length) r.info(`${host}: monit lists none of ${ETCD_CLIENT_PROCESSES.join(', ')}: nothing to stop`);
    for (const s of found) {
      if (isStopped(s)) r.skipped({ host, ...monitStopProcess(s.name) }, `monit reports ${s.name} not monitored`);
      else await r.exec({ host, ...monitStopProcess(s.name) });
    }
    if (!found.length) return;
    const names = found.map((s) => s.name);
    const after = await r.until(`monit reports ${names.join(', ')} not monitored on ${host}`, t.monitMs, async () => {
      const now = await clientsOn(r, host);
      return now.every(isStopped) ? now : undefined;
    });
    r.check(`etcd clients stopped on ${host}`, true, after.map((s) => `${s.name}: ${s.status}`).join(', '));
  });
}

/** Starts again what stopEtcdClients stopped (every etcd client monit lists) and waits until monit runs it. */
export async function startEtcdClients(r: FleetRun, masters: string[], t: FleetTimeouts = DEFAULTS): Promise<void> {
  const running = await beginEtcdClientsStart(r, masters, t);
  await running();
}

/**
 * The first half of startEtcdClients: `monit start` of every etcd client monit lists, on every master;
 * returns the second half, the wait until monit reports them running (so a caller can verify
 * something else meanwhile).
 */
export async function beginEtcdClientsStart(
  r: FleetRun,
  masters: string[],
  t: FleetTimeouts = DEFAULTS,
): Promise<() => Promise<void>> {
  const started = new Map<string, MonitService[]>();
  await onEveryMaster(masters, async (host) => {
    const found = await clientsOn(r, host);
    for (const s of found) {
      if (isRunning(s)) r.skipped({ host, ...monitStartProcess(s.name) }, `monit reports ${s.name} running`);
      else await r.exec({ host, ...monitStartProcess(s.name) });
    }
    started.set(host, found);
  });
  return () =>
    onEveryMaster(masters, async (host) => {
      const found = started.get(host) ?? [];
      if (!found.length) return;
      const after = await r.until(
        `monit reports ${found.map((s) => s.name).join(', ')} running on ${host}`,
        t.monitMs,
        async () => {
          const now = await clientsOn(r, host);
          return now.every(isRunning) ? now : undefined;
        },
      );
      r.check(`etcd clients running on ${host}`, true, after.map((s) => `${s.name}: ${s.status}`).join(', '));
    });
}

/** etcd is down on a VM: monit does not watch it and the job's pidfile names no live process. */
export function etcdDown(p: VmProbe): boolean {
  return p.monitEtcd === 'not-monitored' && !p.etcdAlive;
}

/** Stops etcd under monit on every master (those already down are skipped) and verifies it is down on each. */
export async function stopEtcdEverywhere(r: FleetRun, masters: string[], t: FleetTimeouts = DEFAULTS): Promise<void> {
  const before = await Promise.all(masters.map(async (m) => ({ m, p: await r.probe(m) })));
  for (const { m, p } of before) {
    if (etcdDown(p)) r.skipped({ host: m, ...cmd.monitStop() }, `monit reports etcd ${p.monitText}, no etcd process`);
    else await r.exec({ host: m, ...cmd.monitStop() });
  }
  await onEveryMaster(masters, async (m) => {
    const p = await r.until(`etcd is down on ${m} (monit: not monitored, no etcd process)`, t.monitMs, async () => {
      const x = await r.probe(m);
      return etcdDown(x) ? x : undefined;
    });
    r.check(`etcd down on ${m}`, true, `monit: etcd ${p.monitText}; no live etcd pid`);
  });
}

/** The data directory holds nothing (or only an empty member/): nothing to move. */
export function dataDirEmpty(p: VmProbe): boolean {
  const d = p.dataEntries;
  if (d === null || d.length === 0) return true;
  return d.length === 1 && d[0] === 'member' && p.memberDir.entries.length === 0;
}

/**
 * Moves a member's data aside to /var/vcap/store/etcd.bak-<ts> (kept, never deleted); refuses on the
 * VM itself while etcd runs there (src/recovery/commands.ts's moveDataAside). Returns the backup dir,
 * or null when there was nothing to move.
 */
export async function moveDataAside(r: FleetRun, host: string, ts: string): Promise<string | null> {
  const move = { host, ...cmd.moveDataAside(ts) };
  const p = await r.probe(host);
  if (dataDirEmpty(p)) {
    r.skipped(move, `${cmd.DATA_DIR} holds nothing to move`);
    return null;
  }
  await r.exec(move);
  const after = await r.probe(host);
  r.check(
    `data of ${host} moved aside`,
    dataDirEmpty(after),
    dataDirEmpty(after)
      ? `${cmd.DATA_DIR} is empty; old data in ${cmd.backupDirFor(ts)}`
      : `${cmd.DATA_DIR} still holds: ${(after.dataEntries ?? []).join(', ')}`,
  );
  return cmd.backupDirFor(ts);
}
