// Capacity rules: each member's DB size against the quota and its fragmentation, and the
// cluster's alarms (NOSPACE, CORRUPT).
import { bytes, instRef } from '../describe';
import { DEFAULT_QUOTA_BYTES, labelOf } from '../observe';
import type { ClassifyContext, InstanceTarget } from './context';
import { shellQuote } from '../../util/shell';

/** The CLI's rolling defragmentation of the deployment (the findings' command; VS Code offers the flow's button). */
const defragCommand = (dep: string) => `bosh-etcd defrag --deployment ${shellQuote(dep)}`;

/** Above this share of the quota the DB is "near" it (etcd raises NOSPACE at 100 %). */
export const NEAR_QUOTA_RATIO = 0.8;
/** Fragmentation is worth a defrag from this DB size on, when less than half of it is in use. */
export const FRAGMENTATION_MIN_DB_BYTES = 64 * 1024 * 1024;
export const FRAGMENTATION_IN_USE_RATIO = 0.5;

/** The alarm's name: etcd's enum number or its name. */
const alarmKind = (alarm: string) => (alarm === '1' ? 'NOSPACE' : alarm === '2' ? 'CORRUPT' : alarm.toUpperCase());

/** The CLI's NOSPACE recovery of the deployment. */
const nospaceCommand = (dep: string) => `bosh-etcd recover-nospace --deployment ${shellQuote(dep)}`;

/** DB near the quota, and fragmentation worth a defrag, of one member that answered status. */
export function dbSizeFindings(ctx: ClassifyContext, target: InstanceTarget): void {
  const { add } = ctx;
  const { ref, member: mref, status: st } = target;
  const p = target.view.probe;
  if (!st) return;
  const quota = p?.quotaBytes ?? DEFAULT_QUOTA_BYTES;
  const quotaKnown = !!p?.reachable;
  const inUse = st.dbSizeInUse;
  if (st.dbSize > NEAR_QUOTA_RATIO * quota) {
    const defragHelps = inUse !== undefined && inUse < NEAR_QUOTA_RATIO * quota * 0.9;
    add({
      kind: 'db-near-quota',
      severity: 'warning',
      instance: ref,
      member: mref,
      evidence: `DB size ${bytes(st.dbSize)} is ${Math.round((100 * st.dbSize) / quota)} % of the quota ${bytes(quota)}${quotaKnown ? ` (the job's --quota-backend-bytes${p?.quotaBytes ? '' : ": not set, etcd's default"})` : " (assumed: etcd's default; the VM was not inspected)"}${inUse !== undefined ? `; ${bytes(inUse)} in use` : ''}. At 100 % etcd raises NOSPACE and refuses writes.`,
      action: defragHelps
        ? {
            flow: 'defrag',
            text: 'Defragment the members one at a time: most of the DB is free pages.',
            command: defragCommand(ctx.dep),
          }
        : nospaceActive(ctx)
          ? {
              // under NOSPACE nothing was compacted yet: the size in use still counts the old revisions
              flow: 'none',
              text: 'NOSPACE is active: recover from it first (the NOSPACE finding). Its compaction frees the old revisions counted in use here; it then says whether the data itself needs a bigger quota.',
              command: nospaceCommand(ctx.dep),
            }
          : {
              flow: 'none',
              text: 'The data itself is near the quota: compact the history, delete what is not needed, or raise quota-backend-bytes (bosh deploy).',
            },
    });
  }
  if (
    inUse !== undefined &&
    st.dbSize >= FRAGMENTATION_MIN_DB_BYTES &&
    inUse < FRAGMENTATION_IN_USE_RATIO * st.dbSize
  ) {
    add({
      kind: 'fragmentation',
      severity: 'warning',
      instance: ref,
      member: mref,
      evidence: `DB size ${bytes(st.dbSize)}, of which ${bytes(inUse)} in use (${Math.round((100 * inUse) / st.dbSize)} %).`,
      action: {
        flow: 'defrag',
        text: 'Defragment this member (one member at a time) to give the free pages back.',
        command: defragCommand(ctx.dep),
      },
    });
  }
}

function nospaceActive(ctx: ClassifyContext): boolean {
  return !!ctx.obs.alarms?.ok && ctx.obs.alarms.value.some((a) => alarmKind(a.alarm) === 'NOSPACE');
}

/** The cluster's alarms: NOSPACE refuses writes, CORRUPT distrusts one member's data. */
export function alarmFindings(ctx: ClassifyContext): void {
  const { obs, views, members, add } = ctx;
  if (obs.alarms?.ok) {
    for (const a of obs.alarms.value) {
      const kindName = alarmKind(a.alarm);
      const v = views.find((x) => x.memberId === a.memberId);
      const mm = members?.find((x) => x.id === a.memberId);
      const instance = v ? instRef(v.inst) : undefined;
      const member = { id: a.memberId, name: mm?.name ?? v?.inst.id ?? '' };
      if (kindName === 'NOSPACE') {
        add({
          kind: 'alarm-nospace',
          severity: 'critical',
          title: `NOSPACE alarm: etcd refuses writes`,
          instance,
          member,
          evidence: `Alarm NOSPACE raised by member ${a.memberId}: its DB reached --quota-backend-bytes; the cluster accepts only reads and deletes.`,
          action: {
            flow: 'recover-nospace',
            text: 'Recover from NOSPACE: compact, defragment every member one at a time (the leader last), then disarm the alarm once the space is reclaimed and prove a write is accepted. A bare etcdctl alarm disarm would let the next writes raise it again.',
            command: nospaceCommand(ctx.dep),
          },
        });
      } else if (kindName === 'CORRUPT') {
        add({
          kind: 'alarm-corrupt',
          severity: 'critical',
          title: `CORRUPT alarm on member ${a.memberId}`,
          instance,
          member,
          evidence: `Alarm CORRUPT raised for member ${a.memberId}: its data differs from the others'.`,
          action: v
            ? { flow: 'recover-member', text: `Replace the member of ${labelOf(v.inst)} (its data is not trusted).` }
            : { flow: 'none', text: "Find the member's instance, then replace it." },
        });
      }
    }
  }
}
