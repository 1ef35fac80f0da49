// The restore's pre-checks as they run (read-only, before anything is stopped): the snapshot file
// verified on the workstation (or the path read on every master), every master's etcd version, tools,
// peers and unfinished-restore record, then the rules of restoreChecks.ts. No `vscode` import here.
import type { InstanceInfo } from '../bosh/types';
import type { DeploymentSession } from '../session/types';
import { etcdInstances } from '../session/etcdEndpoints';
import type { Refusal } from '../recovery/events';
import { verifySnapshot } from '../snapshots/verify';
import type { DisasterEvent } from './context';
import { restoreProbe, validateRemotePath, type Bump } from './restoreCommands';
import {
  checkRestore,
  parseMasterFacts,
  snapshotFactsOf,
  snapshotRefusal,
  toolOf,
  type MasterFacts,
  type RestoreCheck,
  type SnapshotFacts,
} from './restoreChecks';
import { factsOnVms, RestoreRun } from './restoreTransfer';

export interface Prechecked {
  snap: SnapshotFacts;
  instances: InstanceInfo[];
  /** 'group/uuid' of every master, in index order. */
  labels: string[];
  facts: MasterFacts[];
  check: RestoreCheck;
}

export async function precheckRestore(
  session: DeploymentSession,
  run: RestoreRun,
  emit: (e: DisasterEvent) => void,
  opts: { snapshot: string; snapshotOnVms?: boolean; bump?: Bump; dryRun?: boolean; confirmDeployment?: string },
): Promise<Prechecked | { refusals: Refusal[]; snap?: SnapshotFacts }> {
  const time = () => new Date().toISOString();
  let snap: SnapshotFacts | undefined;
  if (!opts.snapshotOnVms) {
    const v = await verifySnapshot(opts.snapshot);
    if (!v.ok) return { refusals: [snapshotRefusal(v)!] };
    snap = snapshotFactsOf(v);
    run.info(
      `snapshot ${v.file} verified: revision ${v.status.revision}, ${v.status.totalKeys} keys, sha256 ${v.sha256.slice(0, 16)}…${v.metadataError ? ` (metadata ignored: ${v.metadataError})` : ''}`,
    );
  } else {
    try {
      validateRemotePath(opts.snapshot);
    } catch (e) {
      return {
        refusals: [
          {
            code: 'invalid-input',
            message: (e as Error).message,
            advice: 'Give the absolute path of the snapshot on the masters.',
          },
        ],
      };
    }
  }
  const masters = etcdInstances(run.instances);
  const labels = masters.map((m) => `${m.group}/${m.id}`);
  const facts = await Promise.all(
    masters.map(async (m, i) =>
      parseMasterFacts(
        { label: labels[i], id: m.id, index: m.index },
        (await run.exec({ host: labels[i], ...restoreProbe() })).stdout,
      ),
    ),
  );
  if (opts.snapshotOnVms) {
    const f = await factsOnVms(run, labels, opts.snapshot, toolOf(facts));
    if (!f.facts)
      return {
        refusals: [
          {
            code: 'invalid-input',
            message: `The snapshot on the masters is refused: ${f.problem}. Nothing was stopped or changed.`,
            advice: 'Put the same snapshot file at the same path on every master (or give a file on the workstation).',
          },
        ],
      };
    snap = f.facts;
  }
  const check = checkRestore(session.deployment, snap!, facts, { bump: opts.bump });
  emit({
    type: 'observed',
    time: time(),
    summary: [
      ...facts.map(
        (f) =>
          `${f.label}: etcd ${f.version?.text ?? '?'}${f.etcdutl ? ' (etcdutl)' : ''}, peer ${f.peerAddress ?? '?'}`,
      ),
      ...check.notes,
    ],
  });
  if (check.refusals.length) return { refusals: check.refusals, snap };
  if (!opts.dryRun && opts.confirmDeployment !== session.deployment)
    return {
      snap,
      refusals: [
        {
          code: 'invalid-input',
          message: `The deployment was not confirmed: --confirm-deployment ${opts.confirmDeployment ?? '(none)'} is not ${session.deployment}. Nothing was stopped or changed.`,
          advice: `Type the deployment's name to confirm (--confirm-deployment ${session.deployment}).`,
        },
      ],
    };
  return { snap: snap!, instances: run.instances, labels, facts, check };
}
