// The recovery wizard's flow, independent of VS Code: environment → deployment → member (the
// broken one preselected, with its evidence) → options → engine run whose plan is shown on a
// review page and confirmed in a modal that names the consequence → result, with Resume on
// failure and the health panel on success. Every prompt goes through the Ui seam.
import type { EnvironmentConfig, InstanceInfo } from '../bosh/types';
import { instanceName } from '../bosh/types';
import type { DeploymentSession } from '../session/types';
import type { Plan, RecoveryEvent, RecoveryOptions, RecoveryResult } from '../recovery/events';
import { runsEtcd, type MemberView } from '../diagnosis/membership';
import { memberStateWord, recoverableInstances, worstFindingForInstance } from '../diagnosis/summary';
import type { MonitorEntry } from '../diagnosis/monitor';
import type { Finding } from '../diagnosis/types';
import { explainForOperator } from '../util/errors';
import { CancelledError, type PickItem, type Ui } from '../ui/ui';
import { consequence, planToMarkdown, type ReviewContext } from './planDocument';
import { eventText } from './eventText';
import { chooseDeployment } from './chooseDeployment';

export interface RunSink {
  write(text: string): void;
  /** The operator closed the terminal: stop before the next command. */
  onClose(cb: () => void): void;
  /** The run ended (the terminal stays open to read). */
  finished(outcome: string): void;
}

/** An environment as the wizard lists it: without a config it cannot be chosen. */
export interface WizardEnvironment {
  name: string;
  config?: EnvironmentConfig;
}

export interface WizardModel {
  environments(): Promise<WizardEnvironment[]>;
  deployments(envName: string): Promise<{ name: string }[]>;
  instances(envName: string, deployment: string): Promise<InstanceInfo[]>;
  /** The deployment's diagnosis (the shared monitor's: what the tree and the panel show), at most maxAgeMs old. */
  diagnosis(envName: string, deployment: string, opts?: { maxAgeMs?: number }): Promise<MonitorEntry>;
  deploymentSession(envName: string, deployment: string): Promise<DeploymentSession>;
  refreshDeployment(envName: string, deployment: string): void;
}

export interface WizardDeps {
  ui: Ui;
  model: WizardModel;
  runRecovery(session: DeploymentSession, target: string, opts: RecoveryOptions): Promise<RecoveryResult>;
  trusted(): boolean;
  transcriptDir(): string;
  downloadSnapshotDefault(): boolean;
  openRunSink(title: string): RunSink;
  showReview(markdown: string, plan: Plan): Promise<void>;
  openHealthPanel(envName: string, deployment: string): void;
  openFile(path: string): Promise<void>;
}

export interface WizardPreselect {
  envName?: string;
  deployment?: string;
  /** Instance UUID (= member name) to preselect. */
  instanceId?: string;
}

export interface WizardOptions {
  dryRun: boolean;
  learner: boolean;
  downloadSnapshot: boolean;
}

export interface WizardResult {
  outcome: RecoveryResult['outcome'] | 'aborted';
  results: RecoveryResult[];
  target?: string;
  options?: WizardOptions;
  /** Review pages shown (Markdown). */
  reviews: string[];
  events: RecoveryEvent[];
}

const TOTAL = 5;
const WIZARD_DIAGNOSIS_MAX_AGE_MS = 10_000;

interface Candidate {
  instance: InstanceInfo;
  member?: MemberView;
  /** Its worst finding (undefined: nothing wrong seen). */
  worst?: Finding;
  /** Why the wizard does not replace it (BOSH must act first, or nothing shows it is broken). */
  blocked?: string;
}

/** The member pick's first entry when several members are broken: the engine recovers them all in one run. */
interface EveryBroken {
  everyBroken: number;
}

type MemberChoice = Candidate | EveryBroken;

const isEveryBroken = (c: MemberChoice): c is EveryBroken => 'everyBroken' in c;

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

export async function runWizard(deps: WizardDeps, pre: WizardPreselect = {}): Promise<WizardResult> {
  const out: WizardResult = { outcome: 'aborted', results: [], reviews: [], events: [] };
  const { ui } = deps;
  if (!deps.trusted()) {
    await ui.message(
      'warning',
      'The etcd recovery wizard is disabled in an untrusted workspace: trust this workspace (Manage Workspace Trust) to use it.',
    );
    return out;
  }
  let envName: string, deployment: string, candidate: MemberChoice, members: MemberView[] | undefined;
  let options: WizardOptions;
  try {
    ({ envName, deployment, candidate, members } = await chooseTarget(deps, pre));
    options = await chooseOptions(deps, members);
  } catch (e) {
    if (e instanceof CancelledError) return out;
    await ui.message('error', explainForOperator(e, 'preparing the recovery'));
    return out;
  }
  // The engine's target: one instance, or every broken member in the order it plans.
  const engineTarget = isEveryBroken(candidate) ? 'all-broken' : instanceName(candidate.instance);
  const target = isEveryBroken(candidate)
    ? `every broken member (${candidate.everyBroken})`
    : instanceName(candidate.instance);
  out.target = engineTarget;
  out.options = options;
  const az = isEveryBroken(candidate) ? undefined : candidate.instance.az;
  const ctx: ReviewContext = {
    envName,
    dryRun: options.dryRun,
    learner: options.learner,
    downloadSnapshot: options.downloadSnapshot,
    targetAz: az,
  };

  for (let attempt = 1; ; attempt++) {
    const sink = deps.openRunSink(
      `etcd recovery ${isEveryBroken(candidate) ? target : `${target.slice(0, 15)}…`}${options.dryRun ? ' (dry-run)' : ''}`,
    );
    const abort = new AbortController();
    sink.onClose(() => abort.abort());
    sink.write(
      `\x1b[1mRecover the etcd ${isEveryBroken(candidate) ? 'members: ' : 'member of '}${target}\x1b[0m (deployment ${deployment}, environment ${envName})${options.dryRun ? ' — DRY-RUN, nothing will change' : ''}${attempt > 1 ? ` — attempt ${attempt} (resume)` : ''}\r\nClose this terminal to stop before the next command.\r\n\r\n`,
    );
    let shownPlan: Plan | undefined;
    let result: RecoveryResult;
    try {
      const session = await deps.model.deploymentSession(envName, deployment);
      result = await ui.progress(
        isEveryBroken(candidate)
          ? `Recovering ${candidate.everyBroken} etcd members…`
          : `Recovering the etcd member of ${target.slice(0, 20)}…`,
        async (p) => {
          p.onCancel(() => abort.abort());
          return deps.runRecovery(session, engineTarget, {
            dryRun: options.dryRun,
            learner: options.learner,
            signal: abort.signal,
            transcriptDir: deps.transcriptDir(),
            downloadSnapshotTo: options.downloadSnapshot ? deps.transcriptDir() : undefined,
            onEvent: (e) => {
              out.events.push(e);
              sink.write(eventText(e));
              if (e.type === 'step-start') p.report(`Step ${e.number}/${e.total}: ${e.title}`);
              if (e.type === 'plan') shownPlan = e.plan;
            },
            confirm: async (plan) => {
              const md = planToMarkdown(plan, ctx);
              out.reviews.push(md);
              await deps.showReview(md, plan);
              const c = consequence(plan, az);
              return ui.confirm({
                id: 'recover',
                message: c.message,
                detail: c.detail,
                confirmLabel: c.button,
                modal: true,
              });
            },
          });
        },
        { cancellable: true },
      );
    } catch (e) {
      const text = explainForOperator(e, `recovering ${target}`);
      sink.write(`\r\n\x1b[31m${text}\x1b[0m\r\n`);
      sink.finished('failed');
      await ui.message('error', text);
      out.outcome = 'failed';
      return out;
    }
    out.results.push(result);
    out.outcome = result.outcome;
    sink.finished(result.outcome);
    deps.model.refreshDeployment(envName, deployment);
    if ((result.outcome === 'dry-run' || result.outcome === 'refused') && shownPlan) {
      const md = planToMarkdown(shownPlan, ctx);
      out.reviews.push(md);
      await deps.showReview(md, shownPlan);
    }
    switch (result.outcome) {
      case 'recovered': {
        deps.openHealthPanel(envName, deployment);
        const a = await ui.message('info', result.message, 'Open Transcript');
        if (a === 'Open Transcript') await deps.openFile(result.transcriptPath);
        return out;
      }
      case 'dry-run':
        await ui.message(
          'info',
          `Dry-run of the recovery of ${target} finished: nothing was changed. The review page lists every command a real run would execute.`,
        );
        return out;
      case 'refused':
        await ui.message(
          'error',
          `The recovery of ${target} was refused, nothing was changed: ${result.refusals?.map((r) => r.message).join(' ') ?? result.message} What to do: ${result.advice ?? ''}`,
        );
        return out;
      case 'declined':
        await ui.message('info', `Recovery of ${target} not confirmed: nothing was changed.`);
        return out;
      case 'cancelled': {
        const a = await ui.message('warning', `${result.message}`, 'Resume');
        if (a === 'Resume') continue;
        return out;
      }
      case 'failed': {
        const a = await ui.message(
          'error',
          `Recovery of ${target} stopped: ${result.message}. ${result.advice ?? ''} Nothing after the failed step ran; Resume continues from the observed state.`,
          'Resume',
          'Open Transcript',
        );
        if (a === 'Resume') continue;
        if (a === 'Open Transcript') await deps.openFile(result.transcriptPath);
        return out;
      }
    }
  }
}
