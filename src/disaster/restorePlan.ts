// The plan of a restore from a snapshot: its steps in order and every remote command of each, on
// which master. The dry run prints exactly these; the engine (restore.ts) runs them, skipping what
// is already done. Pure; no `vscode` import here.
import type { PlannedCommand } from '../recovery/events';
import * as cmd from '../recovery/commands';
import { ETCD_CLIENT_PROCESSES, monitStartProcess, monitStopProcess } from './fleet';
import {
  installRestored,
  remoteSnapshotPath,
  removeRestoreState,
  restoreMember,
  sha256OnVm,
  snapshotStatusOnVm,
  uploadSnapshot,
  type Bump,
  type RestoreMember,
  type RestoreTool,
} from './restoreCommands';

export type RestoreStepId =
  | 'precheck'
  | 'upload'
  | 'stop-clients'
  | 'stop-etcd'
  | 'restore'
  | 'start-etcd'
  | 'verify'
  | 'start-clients'
  | 'finish';

export const RESTORE_STEPS: { id: RestoreStepId; title: string }[] = [
  { id: 'precheck', title: 'Pre-checks: snapshot verified, masters known (nothing is stopped)' },
  { id: 'upload', title: 'Put the snapshot on every master and check its sha256 there' },
  {
    id: 'stop-clients',
    title: 'Stop kube-apiserver on every master (nothing writes to etcd), while the snapshot is sent',
  },
  { id: 'stop-etcd', title: 'Stop etcd on every master and verify it is down' },
  { id: 'restore', title: 'Restore every master from the same snapshot; old data moved aside' },
  { id: 'start-etcd', title: 'Start etcd on every master together' },
  { id: 'verify', title: 'Verify: one cluster, every member healthy, hashKV equal' },
  { id: 'start-clients', title: 'Start kube-apiserver again; the Director reports running' },
  { id: 'finish', title: 'Clear the restore records' },
];

export interface RestorePlanInput {
  /** 'group/uuid' → its etcd member (instance id and the job's peer URL). */
  masters: { label: string; member: RestoreMember }[];
  /** sha256 of the snapshot (names the file on the VMs). */
  sha256: string;
  /** A path already on every master (else the upload's destination is used). */
  pathOnVms?: string;
  ts: string;
  tool: RestoreTool;
  bump?: Bump;
}

export interface PlannedRestoreStep {
  id: RestoreStepId;
  title: string;
  commands: PlannedCommand[];
}

/** Where the masters read the snapshot from. */
export function snapshotPathOnVms(p: Pick<RestorePlanInput, 'sha256' | 'pathOnVms'>): string {
  return p.pathOnVms ?? remoteSnapshotPath(p.sha256);
}

/** Every step with every command it may run, in order (pre-checks' read-only probes not listed). */
export function restorePlan(p: RestorePlanInput): PlannedRestoreStep[] {
  const file = snapshotPathOnVms(p);
  const all = p.masters.map((m) => m.member);
  const on = (host: string, c: cmd.RemoteCommand): PlannedCommand => ({ host, ...c, done: false });
  const each = (f: (label: string, member: RestoreMember) => PlannedCommand[]) =>
    p.masters.flatMap((m) => f(m.label, m.member));
  const commands: Record<RestoreStepId, PlannedCommand[]> = {
    precheck: [],
    // sha256sum: a file already there is not sent again (the upload hashes what it receives)
    upload: each((h) => [
      on(h, sha256OnVm(file)),
      ...(p.pathOnVms ? [] : [on(h, uploadSnapshot(file))]),
      on(h, snapshotStatusOnVm(file, p.tool)),
    ]),
    'stop-clients': each((h) => ETCD_CLIENT_PROCESSES.map((n) => on(h, monitStopProcess(n)))),
    'stop-etcd': each((h) => [on(h, cmd.monitStop())]),
    restore: each((h, m) => [
      on(h, restoreMember(file, m, all, p.ts, p.tool, p.bump)),
      on(h, cmd.moveDataAside(p.ts)),
      on(h, installRestored(p.ts, p.sha256)),
    ]),
    'start-etcd': each((h) => [on(h, cmd.monitStart())]),
    verify: [],
    'start-clients': each((h) => ETCD_CLIENT_PROCESSES.map((n) => on(h, monitStartProcess(n)))),
    finish: each((h) => [on(h, removeRestoreState())]),
  };
  return RESTORE_STEPS.map((s) => ({ ...s, commands: commands[s.id] }));
}

/** The plan as lines (the confirmation and the dry run print them). */
export function formatRestorePlan(steps: PlannedRestoreStep[]): string[] {
  const lines: string[] = [];
  steps.forEach((s, i) => {
    lines.push(`${i + 1}. ${s.title}`);
    for (const c of s.commands) lines.push(`   [${c.host}] $ ${c.command}`);
  });
  lines.push(
    '   (kube-apiserver/flanneld are stopped and started only where monit lists them; etcd only where it runs)',
  );
  return lines;
}
