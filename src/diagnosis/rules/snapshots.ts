// The age of the deployment's newest local snapshot: info while it is young, a warning once older
// than the observation's threshold (observeSnapshots.ts, 24 h by default), info when there is none.
import type { FindingAction } from '../types';
import type { ClassifyContext } from './context';
import { shellQuote } from '../../util/shell';

/** "12 min", "3 h", "4 days". */
export function ageWords(ms: number): string {
  const min = Math.floor(ms / 60_000);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  return h < 48 ? `${h} h` : `${Math.floor(h / 24)} days`;
}

export function snapshotAge(ctx: ClassifyContext): void {
  const snap = ctx.obs.snapshots;
  if (!snap) return;
  const save: FindingAction = {
    flow: 'bosh',
    text: 'Take a snapshot (BOSH etcd: Take etcd Snapshot, or the command).',
    command: `bosh-etcd snapshot save --deployment ${shellQuote(ctx.dep)} --dir ${shellQuote(snap.dir)}`,
  };
  if (snap.error) {
    ctx.add({
      kind: 'snapshot-age',
      severity: 'info',
      title: 'snapshots: the folder could not be read',
      evidence: `${snap.dir}: ${snap.error}`,
      action: { flow: 'none', text: 'Check the folder (boshEtcd.snapshots.directory, bosh-etcd snapshot --dir).' },
    });
    return;
  }
  const n = snap.newest;
  if (!n) {
    ctx.add({
      kind: 'snapshot-age',
      severity: 'info',
      title: 'no snapshot of this cluster',
      evidence: `No snapshot of deployment ${ctx.dep} in ${snap.dir}.`,
      action: save,
    });
    return;
  }
  const old = n.ageMs > snap.warnAgeMs;
  ctx.add({
    kind: 'snapshot-age',
    severity: old ? 'warning' : 'info',
    title: `newest snapshot ${ageWords(n.ageMs)} old${old ? ` (older than ${ageWords(snap.warnAgeMs)})` : ''}`,
    evidence: `${n.name} in ${snap.dir}, taken ${n.takenAt}${n.revision ? ` at revision ${n.revision}` : ''}${n.clusterId ? ` of cluster ${n.clusterId}` : ''}.`,
    action: old ? save : { flow: 'none', text: 'Nothing to do.' },
  });
}
