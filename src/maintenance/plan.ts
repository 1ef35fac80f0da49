// Planning of the maintenance flows from one observation: pure functions (unit-tested with
// synthetic observations). Decides the refusals, the order (followers first, the leader last),
// which members are worth defragmenting, and every command. No `vscode` import here.
import * as cmd from './commands';
import type {
  DefragMemberPlan,
  DefragPlan,
  DefragThresholds,
  Fragmentation,
  MaintenanceMember,
  MaintenanceObservation,
  MaintenanceRefusal,
  NospacePlan,
} from './types';

export const DEFAULT_PAUSE_MS = 5000;
export const DEFAULT_MIN_RECLAIMABLE_BYTES = 1024 * 1024;
export const DEFAULT_MIN_FRAGMENTED_PERCENT = 10;
/** Rough defragmentation speed used for the "about N s" of the confirmation (bbolt copies the live pages). */
const ESTIMATE_BYTES_PER_SECOND = 40 * 1024 * 1024;

export function fragmentationOf(m: Pick<MaintenanceMember, 'dbSize' | 'dbSizeInUse'>): Fragmentation | null {
  if (m.dbSize === null || m.dbSizeInUse === null || !(m.dbSize > 0)) return null;
  const reclaimable = Math.max(0, m.dbSize - m.dbSizeInUse);
  return {
    dbSize: m.dbSize,
    dbSizeInUse: m.dbSizeInUse,
    reclaimableBytes: reclaimable,
    percent: Math.round((reclaimable / m.dbSize) * 1000) / 10,
  };
}

/** Worth defragmenting: enough reclaimable bytes AND a large enough share of the file. */
export function worthDefragmenting(f: Fragmentation | null, t: DefragThresholds = {}): boolean {
  if (!f) return true; // unknown (etcd 3.3 reports no size in use): defragment
  return (
    f.reclaimableBytes >= (t.minReclaimableBytes ?? DEFAULT_MIN_RECLAIMABLE_BYTES) &&
    f.percent >= (t.minFragmentedPercent ?? DEFAULT_MIN_FRAGMENTED_PERCENT)
  );
}

/**
 * Sizes in binary units (B, KiB, MiB, GiB), as etcd's quota (bytes, 2 GiB by default) and this
 * tool's settings count them: the panel (src/webviews/health/protocol.ts) prints the same units.
 */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '?';
  if (n >= 1024 * 1024 * 1024) return `${(n / 1024 / 1024 / 1024).toFixed(2)} GiB`;
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(0)} KiB`;
  return `${n} B`;
}

export function estimateDefragSeconds(dbSize: number | null): number {
  return Math.max(1, Math.ceil((dbSize ?? 0) / ESTIMATE_BYTES_PER_SECOND));
}

/** Followers in instance-index order, then the leader (a defragmented leader would make the cluster elect; last, it happens once). */
export function defragOrder<T extends Pick<MaintenanceMember, 'isLeader' | 'index'>>(members: T[]): T[] {
  const byIndex = (a: T, b: T) => (a.index ?? 0) - (b.index ?? 0);
  return [...members.filter((m) => !m.isLeader).sort(byIndex), ...members.filter((m) => m.isLeader)];
}

/** Why the flow must not run now; empty: it may. Shared by both flows. */
export function maintenanceRefusals(obs: MaintenanceObservation, flow: 'defrag' | 'nospace'): MaintenanceRefusal[] {
  const out: MaintenanceRefusal[] = [];
  const d = obs.deployment;
  const corrupt = obs.alarms.filter((a) => /CORRUPT/i.test(a.alarm));
  for (const a of corrupt)
    out.push({
      code: 'corrupt',
      message: `etcd raised CORRUPT on member ${a.memberId}${a.label ? ` (${a.label})` : ''}: its data differs from the others'. This tool never disarms CORRUPT.`,
      advice: `Replace that member from the healthy majority: bosh-etcd recover --deployment ${d} --instance ${a.label ?? '<group/uuid of that member>'} (or the recovery wizard). Disarming would let a corrupted member keep serving.`,
    });
  const other = obs.alarms.filter((a) => !/CORRUPT|NOSPACE/i.test(a.alarm));
  if (other.length)
    out.push({
      code: 'alarm',
      message: `etcd has alarms this flow does not handle: ${other.map((a) => `${a.alarm} on ${a.label ?? a.memberId}`).join(', ')}.`,
      advice: "Look at the members' logs (/var/vcap/sys/log/etcd) and clear the cause first.",
    });
  if (obs.alarmsError)
    out.push({
      code: 'observation-failed',
      message: `The alarm list could not be read: ${obs.alarmsError}`,
      advice: 'Check that the masters answer (bosh-etcd status), then run again; nothing was changed.',
    });
  const bad = obs.members.filter((m) => !m.healthy);
  if (obs.members.length === 0)
    out.push({
      code: 'observation-failed',
      message: `Deployment ${d} has no etcd instances.`,
      advice: 'Pick the deployment of the cluster (bosh deployments), e.g. service-instance_<uuid>.',
    });
  for (const m of bad)
    out.push({
      code: 'member-unhealthy',
      message: `${m.label} (${m.endpointUrl || 'no endpoint'}) is not healthy: ${m.problem}.`,
      advice:
        flow === 'nospace'
          ? `Replace or restart that member first (bosh-etcd recover --deployment ${d} --instance ${m.label}), then run recover-nospace: defragmenting while a member is down would leave the cluster without a spare voter.`
          : `Every member must be healthy before one of them stops answering for its defragmentation. Bring ${m.label} back first (monit summary on it; bosh-etcd recover --deployment ${d} --instance ${m.label} if its data is gone), then run again.`,
    });
  if (obs.learners.length)
    out.push({
      code: 'learner',
      message: `A learner is catching up (${obs.learners.join(', ')}).`,
      advice: 'Wait until it is promoted (the recovery promotes it once in sync), then run again.',
    });
  const recovering = obs.members.filter((m) => m.vm?.recoveryInProgress);
  for (const m of recovering)
    out.push({
      code: 'recovery-in-progress',
      message: `A member recovery is in progress on ${m.label} (${cmd.RECOVERY_STATE_FILE} exists).`,
      advice: `Finish it first: run the recovery again for ${m.label} (bosh-etcd recover --deployment ${d} --instance ${m.label}); it continues where it stopped and removes the file.`,
    });
  const unprobed = obs.members.filter((m) => m.healthy && m.vm && !m.vm.reachable);
  for (const m of unprobed)
    out.push({
      code: 'observation-failed',
      message: `${m.label} could not be inspected over SSH: ${m.vm!.error}`,
      advice: `The commands run on each master over SSH: check access (bosh -d ${d} ssh ${m.label}), then run again.`,
    });
  if (flow === 'nospace' && !obs.alarmsError && !obs.alarms.some((a) => /NOSPACE/i.test(a.alarm)))
    out.push({
      code: 'no-nospace-alarm',
      message: 'No NOSPACE alarm is active: the cluster accepts writes.',
      advice: `Nothing to recover. To give space back, run a rolling defragmentation: bosh-etcd defrag --deployment ${d}.`,
    });
  return out;
}

function memberPlan(m: MaintenanceMember, o: DefragThresholds & { force?: boolean }): DefragMemberPlan {
  const f = fragmentationOf(m);
  const worth = o.force || worthDefragmenting(f, o);
  return {
    label: m.label,
    endpointUrl: m.endpointUrl,
    memberId: m.memberId,
    isLeader: m.isLeader,
    fragmentation: f,
    skip: !worth,
    skipReason: worth
      ? undefined
      : `${f!.percent} % fragmented, ${formatBytes(f!.reclaimableBytes)} reclaimable: below the thresholds (${o.minFragmentedPercent ?? DEFAULT_MIN_FRAGMENTED_PERCENT} % and ${formatBytes(o.minReclaimableBytes ?? DEFAULT_MIN_RECLAIMABLE_BYTES)}), already defragmented or not worth it`,
    estimatedSeconds: estimateDefragSeconds(m.dbSize),
    command: {
      host: m.label,
      command: cmd.defragLocal(m.dbSize),
      purpose: `defragment the member of ${m.label} only (${m.endpointUrl}); it answers no reads or writes meanwhile`,
      mutates: true,
    },
  };
}

export function planDefrag(
  obs: MaintenanceObservation,
  o: DefragThresholds & { force?: boolean; pauseMs?: number } = {},
): DefragPlan {
  const refusals = maintenanceRefusals(obs, 'defrag');
  const members = defragOrder(obs.members).map((m) => memberPlan(m, o));
  const notes: string[] = [];
  if (!obs.members.some((m) => m.isLeader) && refusals.length === 0)
    notes.push('No member reports being the leader: the order is by index.');
  if (obs.alarms.some((a) => /NOSPACE/i.test(a.alarm)))
    notes.push(
      'NOSPACE is active: defragmentation alone does not clear it; bosh-etcd recover-nospace compacts, defragments, disarms and tests a write.',
    );
  return { deployment: obs.deployment, members, pauseMs: o.pauseMs ?? DEFAULT_PAUSE_MS, refusals, notes };
}

export function quotaOf(obs: MaintenanceObservation): { bytes: number; source: string } {
  const found = obs.members.map((m) => m.vm?.quotaBackendBytes).filter((q): q is number => !!q);
  if (!found.length)
    return { bytes: cmd.DEFAULT_QUOTA_BYTES, source: "etcd's default (the job sets no --quota-backend-bytes)" };
  const min = Math.min(...found);
  return { bytes: min, source: `--quota-backend-bytes=${min} in the etcd job's configuration` };
}

export function planNospace(
  obs: MaintenanceObservation,
  o: DefragThresholds & { pauseMs?: number; revision?: string | null; stamp?: string } = {},
): NospacePlan {
  const refusals = maintenanceRefusals(obs, 'nospace');
  // Every member is defragmented: under NOSPACE nothing commits, so etcd's size in use does not
  // show yet what the compaction frees.
  const defrag = planDefrag(obs, { ...o, force: true });
  defrag.refusals = [];
  const leader = obs.members.find((m) => m.isLeader) ?? obs.members.find((m) => m.healthy) ?? null;
  const host = leader?.label ?? null;
  const revision = o.revision ?? null;
  const key = cmd.writeTestKey(o.stamp ?? 'STAMP');
  const quota = quotaOf(obs);
  return {
    deployment: obs.deployment,
    host,
    revision,
    compact: host
      ? {
          host,
          command: revision ? cmd.compactTo(revision) : cmd.compactToCurrentPlaceholder(),
          purpose: 'compact the history up to the current revision (etcd frees the old revisions)',
          mutates: true,
        }
      : null,
    defrag,
    disarm: host
      ? { host, command: cmd.alarmDisarm(), purpose: 'disarm NOSPACE (the cause is gone)', mutates: true }
      : null,
    writeTest: host
      ? [
          {
            host,
            command: cmd.putKey(key, 'ok'),
            purpose: 'test write: the cluster accepts writes again',
            mutates: true,
          },
          { host, command: cmd.deleteKey(key), purpose: 'remove the test key', mutates: true },
        ]
      : [],
    quotaBackendBytes: quota.bytes,
    quotaSource: quota.source,
    refusals,
    notes: [
      'Every member is defragmented (a member already done in an earlier run goes fast).',
      'The alarm is disarmed only when no member has a CORRUPT alarm and the data fits the quota.',
    ],
  };
}

export function formatDefragPlan(p: DefragPlan): string[] {
  const lines = [`Rolling defragmentation of ${p.deployment}: followers first, the leader last, one at a time.`];
  p.members.forEach((m, i) => {
    const f = m.fragmentation;
    lines.push(
      `${i + 1}. ${m.label}${m.isLeader ? ' (leader)' : ''}: ${f ? `${formatBytes(f.dbSize)}, ${formatBytes(f.dbSizeInUse)} in use, ${f.percent} % fragmented` : 'size unknown'}${m.skip ? ` — skipped: ${m.skipReason}` : `, blocked about ${m.estimatedSeconds} s`}`,
    );
    if (!m.skip) lines.push(`   [${m.command.host}] $ ${m.command.command}`);
  });
  lines.push(
    `After each member: health and raft index caught up with the leader before the next; pause ${Math.round(p.pauseMs / 100) / 10} s between members.`,
  );
  for (const n of p.notes) lines.push(`Note: ${n}`);
  return lines;
}

export function formatNospacePlan(p: NospacePlan): string[] {
  const lines = [`NOSPACE recovery of ${p.deployment}:`];
  if (p.compact) lines.push(`1. compact to the current revision: [${p.compact.host}] $ ${p.compact.command}`);
  lines.push('2. rolling defragmentation:', ...formatDefragPlan(p.defrag).map((l) => `   ${l}`));
  if (p.disarm) lines.push(`3. disarm the alarm: [${p.disarm.host}] $ ${p.disarm.command}`);
  p.writeTest.forEach((c) => lines.push(`4. test write: [${c.host}] $ ${c.command}`));
  lines.push(`5. the size in use against the quota: ${formatBytes(p.quotaBackendBytes)} (${p.quotaSource}).`);
  for (const n of p.notes) lines.push(`Note: ${n}`);
  return lines;
}

/** The consequence named in the confirmation, per member not skipped. */
export function defragConsequences(p: DefragPlan): string[] {
  return p.members
    .filter((m) => !m.skip)
    .map(
      (m) =>
        `${m.label} will not answer reads or writes while it is defragmented, about ${m.estimatedSeconds} s for ${formatBytes(m.fragmentation?.dbSize ?? null)}`,
    );
}
