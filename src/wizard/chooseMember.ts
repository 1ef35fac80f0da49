// The recovery wizard's pages before the run (steps 1 to 4 of wizardFlow.ts): environment and
// deployment, the member (the broken one preselected, with its evidence; "every broken member"
// first when several are; members whose fix is BOSH's shown but not offered), and the options.
import { instanceName, type InstanceInfo } from '../bosh/types';
import { runsEtcd, type MemberView } from '../diagnosis/membership';
import { memberStateWord, recoverableInstances, worstFindingForInstance } from '../diagnosis/summary';
import type { MonitorEntry } from '../diagnosis/monitor';
import type { Finding } from '../diagnosis/types';
import { explainForOperator } from '../util/errors';
import { CancelledError, type PickItem } from '../ui/ui';
import { chooseDeployment } from './chooseDeployment';
import type { WizardDeps, WizardOptions, WizardPreselect } from './wizardTypes';

const TOTAL = 5;
const WIZARD_DIAGNOSIS_MAX_AGE_MS = 10_000;

export interface Candidate {
  instance: InstanceInfo;
  member?: MemberView;
  /** Its worst finding (undefined: nothing wrong seen). */
  worst?: Finding;
  /** Why the wizard does not replace it (BOSH must act first, or nothing shows it is broken). */
  blocked?: string;
}

/** The member pick's first entry when several members are broken: the engine recovers them all in one run. */
export interface EveryBroken {
  everyBroken: number;
}

export type MemberChoice = Candidate | EveryBroken;

export const isEveryBroken = (c: MemberChoice): c is EveryBroken => 'everyBroken' in c;

/**
 * A member is not offered for replacement when its worst finding says the fix is BOSH's (no VM,
 * VM down, etcd stopped) or that nothing proves it broken (unreachable from here only, unknown).
 */
function blockedReason(worst: Finding | undefined, recoverable: boolean): string | undefined {
  if (!worst || recoverable || worst.severity === 'info') return undefined;
  if (worst.action.flow !== 'bosh' && worst.action.flow !== 'none') return undefined;
  if (worst.severity !== 'critical' && worst.kind !== 'unreachable-from-here' && worst.kind !== 'member-unknown')
    return undefined;
  return `${worst.title}. ${worst.action.text}${worst.action.command ? ` Run: ${worst.action.command}` : ''}`;
}

function evidenceOf(c: Candidate, findings: Finding[] | undefined): string {
  const { member: m, instance: i, worst } = c;
  const bits: string[] = [];
  if (findings) bits.push(`etcd: ${memberStateWord(findings, i.id)}${m?.id ? ` (id ${m.id})` : ''}`);
  if (worst && worst.severity !== 'info') bits.push(worst.evidence);
  bits.push(
    `BOSH: ${i.processState ?? 'no VM'}${i.processes.find((p) => p.name === 'etcd') ? `, etcd process ${i.processes.find((p) => p.name === 'etcd')!.state}` : ''}`,
  );
  return bits.join(' · ');
}

export async function chooseTarget(
  deps: WizardDeps,
  pre: WizardPreselect,
): Promise<{ envName: string; deployment: string; candidate: MemberChoice; members?: MemberView[] }> {
  const { ui, model } = deps;
  const { envName, deployment } = await chooseDeployment(ui, model, pre, {
    title: 'Recover etcd member',
    steps: { environment: 1, deployment: 2, total: TOTAL },
  });
  const instances = await model.instances(envName, deployment);
  let entry: MonitorEntry | undefined;
  let membersError: string | undefined;
  try {
    // The member pick is a decision: on a diagnosis at most a few seconds old.
    entry = await model.diagnosis(envName, deployment, { maxAgeMs: WIZARD_DIAGNOSIS_MAX_AGE_MS });
    if (!entry.diagnosis) membersError = entry.error;
  } catch (e) {
    membersError = explainForOperator(e, 'diagnosing the etcd cluster');
  }
  const members = entry?.diagnosis ? entry.members : undefined;
  const findings = entry?.diagnosis?.findings;
  const recoverable = new Set(recoverableInstances(findings ?? []).map((i) => i.id));
  const candidates: Candidate[] = instances.filter(runsEtcd).map((i) => {
    const worst = findings ? worstFindingForInstance(findings, i.id) : undefined;
    return {
      instance: i,
      member: members?.find((m) => m.instance?.id === i.id),
      worst,
      blocked: blockedReason(worst, recoverable.has(i.id)),
    };
  });
  if (!candidates.length)
    throw new Error(`Deployment ${deployment} has no instance running etcd: nothing to recover here`);
  // Preselected: the one asked for, else only a member with positive evidence of being broken.
  // Several broken: the engine must bring them back together (one alone is refused while another is broken).
  const brokenCount = candidates.filter((c) => recoverable.has(c.instance.id)).length;
  const every: EveryBroken | undefined = brokenCount > 1 ? { everyBroken: brokenCount } : undefined;
  const pre2 = pre.instanceId
    ? candidates.find((c) => c.instance.id === pre.instanceId)
    : every
      ? undefined
      : candidates.find((c) => recoverable.has(c.instance.id));
  const icon = (c: Candidate) =>
    c.blocked
      ? '$(circle-slash) '
      : recoverable.has(c.instance.id)
        ? '$(error) '
        : c.worst && c.worst.severity !== 'info'
          ? '$(warning) '
          : '$(pass) ';
  const items: PickItem<MemberChoice>[] = candidates.map((c) => ({
    label: `${icon(c)}${instanceName(c.instance)}`,
    description: c.blocked
      ? `not offered: ${c.worst!.title}`
      : `${findings ? memberStateWord(findings, c.instance.id) : membersError ? 'etcd unknown' : 'no member'} · ${c.instance.az ?? ''} · ${c.instance.ips.join(', ')}${c.instance.bootstrap ? ' · bootstrap' : ''}`,
    detail: c.blocked ? `${c.worst!.evidence} ${c.blocked}` : evidenceOf(c, findings),
    value: c,
    picked: c === pre2,
  }));
  // Preselected first.
  items.sort((a, b) => Number(!!b.picked) - Number(!!a.picked));
  if (every)
    items.unshift({
      label: `$(error) Recover every broken member (${every.everyBroken})`,
      description: 'one run: dead registrations removed first, then back one at a time, the bootstrap instance last',
      detail: candidates
        .filter((c) => recoverable.has(c.instance.id))
        .map((c) => instanceName(c.instance))
        .join(', '),
      value: every,
      picked: !pre2,
    });
  const candidate = await ui.pick(items, {
    id: 'member',
    title: `Recover etcd member of ${deployment}: which member?${membersError ? ` (${membersError})` : ''}`,
    placeholder: every
      ? `${every.everyBroken} members are broken: recover them together (first entry); the evidence is under each entry`
      : pre2
        ? 'The broken member is preselected; the evidence is under each entry'
        : 'No member shows positive evidence of being broken: read the evidence under each entry',
    step: 3,
    totalSteps: TOTAL,
  });
  if (candidate && !isEveryBroken(candidate) && candidate.blocked) {
    await ui.message(
      'warning',
      `${instanceName(candidate.instance)} is not replaced by the recovery wizard: ${candidate.blocked}`,
    );
    throw new CancelledError();
  }
  if (!candidate) throw new CancelledError();
  return { envName, deployment, candidate, members };
}

export async function chooseOptions(deps: WizardDeps, members: MemberView[] | undefined): Promise<WizardOptions> {
  const versions = (members ?? []).map((m) => m.status?.version).filter((v): v is string => !!v);
  const learnerOk =
    versions.length > 0 &&
    versions.every((v) => {
      const [maj, min] = v.split('.').map(Number);
      return maj > 3 || (maj === 3 && min >= 4);
    });
  type Opt = 'dryRun' | 'learner' | 'downloadSnapshot';
  const items: PickItem<Opt>[] = [
    { label: 'Dry-run', description: 'observe and show every command; change nothing', value: 'dryRun' },
    ...(learnerOk
      ? [
          {
            label: 'Re-add as learner',
            description: 'member add --learner, promote once caught up (etcd 3.4+)',
            value: 'learner' as Opt,
          },
        ]
      : []),
    {
      label: 'Download the snapshot',
      description: 'copy the pre-recovery snapshot to the transcript folder',
      value: 'downloadSnapshot',
      picked: deps.downloadSnapshotDefault(),
    },
  ];
  const chosen = await deps.ui.pickMany(items, {
    id: 'options',
    title: 'Recover etcd member: options',
    placeholder: learnerOk
      ? 'Select options, then OK'
      : 'Select options, then OK (learner mode needs etcd 3.4+ on every member)',
    step: 4,
    totalSteps: TOTAL,
    canPickMany: true,
  });
  if (!chosen) throw new CancelledError();
  return {
    dryRun: chosen.includes('dryRun'),
    learner: chosen.includes('learner'),
    downloadSnapshot: chosen.includes('downloadSnapshot'),
  };
}
