// The restore's pre-checks as they run (read-only, before anything is stopped): the snapshot file
// verified on the workstation (or the path read on every master), every master's etcd version, tools,
// peers and unfinished-restore record, then the rules of restoreChecks.ts. No `vscode` import here.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
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
import { download, factsOnVms, RestoreRun } from './restoreTransfer';

export interface Prechecked {
  snap: SnapshotFacts;
  instances: InstanceInfo[];
  /** 'group/uuid' of every master, in index order. */
  labels: string[];
  facts: MasterFacts[];
  check: RestoreCheck;
  /** The file to upload to every master (undefined: already on every master). */
  localFile?: string;
}

const invalid = (message: string, advice: string): Refusal => ({ code: 'invalid-input', message, advice });

export async function precheckRestore(
  session: DeploymentSession,
  run: RestoreRun,
  emit: (e: DisasterEvent) => void,
  opts: {
    snapshot: string;
    snapshotOnVms?: boolean;
    snapshotVm?: string;
    bump?: Bump;
    dryRun?: boolean;
    confirmDeployment?: string;
  },
  onTempDir: (dir: string) => void,
): Promise<Prechecked | { refusals: Refusal[]; snap?: SnapshotFacts }> {
  const time = () => new Date().toISOString();
  let snap: SnapshotFacts | undefined;
  let localFile = opts.snapshotOnVms ? undefined : opts.snapshot;
  if (opts.snapshotOnVms || opts.snapshotVm) {
    try {
      validateRemotePath(opts.snapshot);
    } catch (e) {
      return { refusals: [invalid((e as Error).message, 'Give the absolute path of the snapshot on the masters.')] };
    }
  }
  if (opts.snapshotVm) {
    // A snapshot on one master: copied to the workstation (streamed) and verified there like a local file.
    const holder = etcdInstances(run.instances).find((i) => `${i.group}/${i.id}` === opts.snapshotVm);
    if (!holder)
      return {
        refusals: [
          invalid(
            `${opts.snapshotVm} is not a master of ${session.deployment}. Nothing was stopped or changed.`,
            `Give the master that holds the snapshot as group/uuid (bosh -d ${session.deployment} instances).`,
          ),
        ],
      };
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bosh-etcd-restore-'));
    onTempDir(dir);
    localFile = path.join(dir, path.basename(opts.snapshot));
    await download(run, opts.snapshotVm, opts.snapshot, localFile);
  }
  const masters = etcdInstances(run.instances);
  const labels = masters.map((m) => `${m.group}/${m.id}`);
  // the file verified on the workstation while every master is read (all read-only)
  // (a bad snapshot is reported before a master that could not be read)
  const [v, read] = await Promise.all([
    localFile ? verifySnapshot(localFile) : undefined,
    Promise.allSettled(
      masters.map(async (m, i) => {
        const [probe, vm] = await Promise.all([run.exec({ host: labels[i], ...restoreProbe() }), run.probe(labels[i])]);
        return {
          ...parseMasterFacts({ label: labels[i], id: m.id, index: m.index }, probe.stdout),
          freeKb: vm.freeKb,
        };
      }),
    ),
  ]);
  if (v && !v.ok) return { refusals: [snapshotRefusal(v)!] };
  const unread = read.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (unread) throw unread.reason;
  const facts = read.map((r) => (r as PromiseFulfilledResult<MasterFacts>).value);
  if (v?.ok) {
    snap = { ...snapshotFactsOf(v), file: opts.snapshotVm ? `${opts.snapshotVm}:${opts.snapshot}` : v.file };
    run.info(
      `snapshot ${snap.file} verified: revision ${v.status.revision}, ${v.status.totalKeys} keys, sha256 ${v.sha256.slice(0, 16)}…${v.metadataError ? ` (metadata ignored: ${v.metadataError})` : ''}`,
    );
  }
  if (opts.snapshotOnVms) {
    const f = await factsOnVms(run, labels, opts.snapshot, toolOf(facts));
    if (!f.facts)
      return {
        refusals: [
          invalid(
            `The snapshot on the masters is refused: ${f.problem}. Nothing was stopped or changed.`,
            'Put the same snapshot file at the same path on every master (or give a file on the workstation).',
          ),
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
  return { snap: snap!, localFile, instances: run.instances, labels, facts, check };
}
