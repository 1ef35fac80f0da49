// The maintenance flows of the extension (rolling defragmentation, NOSPACE recovery), independent
// of VS Code: environment → deployment → options → the engine observes and plans (nothing changes
// yet), the plan is shown on a review page with every command and confirmed in a modal that names
// the consequence → the run, every remote command visible in a terminal → the result, refusals with
// their reasons (CORRUPT and a member down lead to the recovery wizard). Every prompt goes through
// the Ui seam.
import type { DeploymentSession } from '../session/types';
import type {
  DefragOptions,
  DefragPlan,
  DefragResult,
  MaintenanceEvent,
  MaintenanceRefusal,
  NospaceOptions,
  NospacePlan,
  NospaceResult,
} from '../maintenance';
import { explainForOperator } from '../util/errors';
import { CancelledError, type PickItem } from '../ui/ui';
import { chooseDeployment, type DeploymentChoiceModel } from './chooseDeployment';
import { confirmConsequence, type FlowHost } from './wizardTypes';
import {
  defragConfirmation,
  maintenanceEventText,
  maintenanceReviewMarkdown,
  nospaceConfirmation,
  type MaintenanceKind,
} from './maintenanceText';
import { reportRunFailure, tell } from './runGate';
import { refusedUntrusted } from './trust';

export interface MaintenanceModel extends DeploymentChoiceModel {
  deploymentSession(envName: string, deployment: string): Promise<DeploymentSession>;
  refreshDeployment(envName: string, deployment: string): void;
}

export interface MaintenanceDeps extends FlowHost<MaintenanceModel> {
  defragCluster(session: DeploymentSession, opts: DefragOptions): Promise<DefragResult>;
  recoverNospace(session: DeploymentSession, opts: NospaceOptions): Promise<NospaceResult>;
  /** boshEtcd.maintenance.defragPauseSeconds */
  pauseSeconds(): number;
  showReview(markdown: string, deployment: string): Promise<void>;
  /** Opens the recovery wizard on that deployment (and member, when known). */
  recoverMember(envName: string, deployment: string, instanceId?: string): void;
}

export interface MaintenancePreselect {
  envName?: string;
  deployment?: string;
}

export interface MaintenanceFlowOptions {
  dryRun: boolean;
  /** Defragment every member, whatever its fragmentation (defrag only). */
  force: boolean;
}

export interface MaintenanceFlowResult {
  outcome: DefragResult['outcome'] | 'aborted';
  envName?: string;
  deployment?: string;
  options?: MaintenanceFlowOptions;
  result?: DefragResult | NospaceResult;
  events: MaintenanceEvent[];
  /** Review pages shown (Markdown). */
  reviews: string[];
}

const TITLES: Record<MaintenanceKind, string> = {
  defrag: 'Defragment etcd (rolling)',
  nospace: 'Recover etcd from NOSPACE',
};
const TOTAL = 3;

/** The action offered with a refusal: the recovery wizard when a member must be replaced first. */
export const REPLACE_MEMBER_ACTION = 'Recover etcd Member…';

/** The instance a refusal names ('group/uuid'), for the recovery wizard's preselection. */
export function instanceNamedIn(refusal: MaintenanceRefusal): string | undefined {
  const m = /\b[\w-]+\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b/.exec(refusal.message);
  return m?.[1];
}

/** Refusals whose way out is replacing a member (CORRUPT, a member down). */
export function needsMemberReplacement(refusals: MaintenanceRefusal[]): MaintenanceRefusal | undefined {
  return refusals.find((r) => r.code === 'corrupt') ?? refusals.find((r) => r.code === 'member-unhealthy');
}

async function chooseOptions(deps: MaintenanceDeps, kind: MaintenanceKind): Promise<MaintenanceFlowOptions> {
  type Opt = 'dryRun' | 'force';
  const items: PickItem<Opt>[] = [
    { label: 'Dry-run', description: 'observe and show the plan with every command; change nothing', value: 'dryRun' },
    ...(kind === 'defrag'
      ? [
          {
            label: 'Defragment every member',
            description: 'also the members less than 10 % / 1 MiB fragmented (skipped otherwise)',
            value: 'force' as Opt,
          },
        ]
      : []),
  ];
  const chosen = await deps.ui.pickMany(items, {
    id: 'options',
    title: `${TITLES[kind]}: options`,
    placeholder: 'Select options, then OK (none: a real run, confirmed after the plan is shown)',
    step: 3,
    totalSteps: TOTAL,
    canPickMany: true,
  });
  if (!chosen) throw new CancelledError();
  return { dryRun: chosen.includes('dryRun'), force: chosen.includes('force') };
}

export async function runMaintenance(
  deps: MaintenanceDeps,
  kind: MaintenanceKind,
  pre: MaintenancePreselect = {},
): Promise<MaintenanceFlowResult> {
  const out: MaintenanceFlowResult = { outcome: 'aborted', events: [], reviews: [] };
  const { ui } = deps;
  const what = kind === 'defrag' ? 'rolling defragmentation' : 'NOSPACE recovery';
  if (await refusedUntrusted(deps, `The etcd ${what}`)) return out;
  let envName: string, deployment: string, options: MaintenanceFlowOptions;
  try {
    ({ envName, deployment } = await chooseDeployment(ui, deps.model, pre, {
      title: TITLES[kind],
      steps: { environment: 1, deployment: 2, total: TOTAL },
    }));
    options = await chooseOptions(deps, kind);
  } catch (e) {
    if (e instanceof CancelledError) return out;
    tell(ui, 'error', explainForOperator(e, `preparing the ${what}`));
    return out;
  }
  Object.assign(out, { envName, deployment, options });
  const ctx = { envName, dryRun: options.dryRun };
  const sink = deps.openRunSink(
    `etcd ${kind === 'defrag' ? 'defrag' : 'NOSPACE'} ${deployment.slice(0, 24)}${options.dryRun ? ' (dry-run)' : ''}`,
  );
  const abort = new AbortController();
  sink.onClose(() => abort.abort());
  sink.write(
    `\x1b[1m${kind === 'defrag' ? 'Rolling defragmentation' : 'NOSPACE recovery'} of ${deployment}\x1b[0m (environment ${envName})${options.dryRun ? ' — DRY-RUN, nothing will change' : ''}\r\nClose this terminal to stop before the next command.\r\n\r\n`,
  );
  const review = async (plan: DefragPlan | NospacePlan): Promise<void> => {
    const md = maintenanceReviewMarkdown(kind, plan, ctx);
    out.reviews.push(md);
    await deps.showReview(md, plan.deployment);
  };
  let result: DefragResult | NospaceResult;
  try {
    const session = await deps.model.deploymentSession(envName, deployment);
    result = await ui.progress(
      `${kind === 'defrag' ? 'Defragmenting' : 'Recovering from NOSPACE'} ${deployment}…`,
      async (p) => {
        p.onCancel(() => abort.abort());
        const common = {
          dryRun: options.dryRun,
          signal: abort.signal,
          transcriptDir: deps.transcriptDir(),
          pauseMs: Math.round(deps.pauseSeconds() * 1000),
          onEvent: (e: MaintenanceEvent) => {
            out.events.push(e);
            sink.write(maintenanceEventText(e));
            if (e.type === 'step-start') p.report(e.title);
            if (e.type === 'member-done') p.report(`${e.result.label}: ${e.result.outcome}`);
          },
        };
        if (kind === 'defrag')
          return deps.defragCluster(session, {
            ...common,
            force: options.force,
            confirm: async (plan) => {
              await review(plan);
              return confirmConsequence(ui, 'defrag', defragConfirmation(plan));
            },
          });
        return deps.recoverNospace(session, {
          ...common,
          confirm: async (plan) => {
            await review(plan);
            return confirmConsequence(ui, 'nospace', nospaceConfirmation(plan));
          },
        });
      },
      { cancellable: true },
    );
  } catch (e) {
    await reportRunFailure(ui, sink, e, `the ${what} of ${deployment}`);
    out.outcome = 'failed';
    return out;
  }
  out.result = result;
  out.outcome = result.outcome;
  sink.finished(result.outcome);
  deps.model.refreshDeployment(envName, deployment);
  if ((result.outcome === 'dry-run' || result.outcome === 'refused') && result.plan) await review(result.plan);
  const transcriptAction = result.transcriptPath ? ['Open Transcript'] : [];
  const openTranscript = async (a: string | undefined) => {
    if (a === 'Open Transcript' && result.transcriptPath) await deps.openFile(result.transcriptPath);
  };
  switch (result.outcome) {
    case 'done':
    case 'nothing-to-do':
      await openTranscript(await ui.message('info', result.message, ...transcriptAction));
      return out;
    case 'dry-run':
      await ui.message(
        'info',
        `Dry-run of the ${what} of ${deployment} finished: nothing was changed. The review page lists every command a real run would execute.`,
      );
      return out;
    case 'refused': {
      const refusals = result.refusals ?? [];
      const replace = needsMemberReplacement(refusals);
      const a = await ui.message(
        'error',
        `The ${what} of ${deployment} was refused, nothing was changed: ${refusals.map((r) => r.message).join(' ') || result.message} What to do: ${refusals.map((r) => r.advice).join(' ') || result.advice || ''}`,
        ...(replace ? [REPLACE_MEMBER_ACTION] : []),
      );
      if (a === REPLACE_MEMBER_ACTION && replace) deps.recoverMember(envName, deployment, instanceNamedIn(replace));
      return out;
    }
    case 'declined':
      await ui.message('info', `${TITLES[kind]} of ${deployment} not confirmed: nothing was changed.`);
      return out;
    case 'cancelled':
      await openTranscript(await ui.message('warning', result.message, ...transcriptAction));
      return out;
    case 'quota-too-small':
    case 'failed':
      await openTranscript(
        await ui.message(
          'error',
          `${TITLES[kind]} of ${deployment} stopped: ${result.message}${result.advice ? ` What to do: ${result.advice}` : ''}`,
          ...transcriptAction,
        ),
      );
      return out;
  }
}
