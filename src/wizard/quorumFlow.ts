// The quorum-loss wizard, independent of VS Code: environment → deployment → options (dry run) → the
// engine (src/disaster/quorum.ts) observes every master; the operator picks the survivor from their
// evidence (preselected only when the ranking is unambiguous, src/disaster/survivorChoice.ts), sees
// what is lost on the review page and in a modal that names the consequence; the run shows every
// remote command in a terminal, can be cancelled (Cancel, or closing the terminal) and resumed.
// Every prompt goes through the Ui seam.
import type { DeploymentSession } from '../session/types';
import type { QuorumOptions, QuorumResult } from '../disaster/quorum';
import type { DisasterEvent } from '../disaster/context';
import type { QuorumPlan } from '../disaster/quorumPlan';
import { explainForOperator } from '../util/errors';
import { CancelledError, type Ui } from '../ui/ui';
import { chooseDeployment } from './chooseDeployment';
import type { MaintenanceModel } from './maintenanceFlow';
import { confirmConsequence, type FlowHost } from './wizardTypes';
import { eventText } from './eventText';
import { NO_AUTOMATIC_CHOICE, quorumConsequence, quorumReviewMarkdown, survivorItems } from './disasterText';
import { reportRunFailure, tell } from './runGate';
import { refusedUntrusted } from './trust';

export interface QuorumWizardDeps extends FlowHost<MaintenanceModel> {
  restoreQuorum(session: DeploymentSession, opts: QuorumOptions): Promise<QuorumResult>;
  showReview(markdown: string, name: string): Promise<void>;
  openHealthPanel(envName: string, deployment: string): void;
}

export interface QuorumWizardResult {
  outcome: QuorumResult['outcome'] | 'aborted';
  envName?: string;
  deployment?: string;
  dryRun?: boolean;
  survivor?: string;
  results: QuorumResult[];
  events: DisasterEvent[];
  /** Review pages shown (Markdown). */
  reviews: string[];
}

const TITLE = 'Restore etcd quorum';
const TOTAL = 4;

async function chooseDryRun(ui: Ui): Promise<boolean> {
  const chosen = await ui.pickMany(
    [
      {
        label: 'Dry-run',
        description: "read every master's evidence and show the plan with every command; change nothing",
        value: 'dryRun',
      },
    ],
    {
      id: 'options',
      title: `${TITLE}: options`,
      placeholder: 'Select options, then OK (none: a real run, confirmed after the survivor and the plan are shown)',
      step: 3,
      totalSteps: TOTAL,
      canPickMany: true,
    },
  );
  if (!chosen) throw new CancelledError();
  return chosen.includes('dryRun');
}

/** The survivor, chosen by the operator; a master that cannot be one, or "no automatic choice", asks again. */
async function chooseSurvivor(ui: Ui, plan: QuorumPlan): Promise<string> {
  for (;;) {
    const chosen = await ui.pick(survivorItems(plan), {
      id: 'survivor',
      title: `${TITLE} of ${plan.deployment}: which master survives?`,
      placeholder: plan.ranking.preselected
        ? `${plan.ranking.preselected.label} is the most advanced (preselected); the evidence and what each choice loses are under each entry`
        : `No automatic choice (${plan.ranking.ambiguity}): choose the survivor explicitly`,
      step: 4,
      totalSteps: TOTAL,
    });
    if (chosen === undefined) throw new CancelledError();
    const c = plan.evidence.find((e) => e.label === chosen);
    // told without waiting for the notification to be closed: the pick comes back at once
    if (chosen === NO_AUTOMATIC_CHOICE) tell(ui, 'warning', `Choose the survivor yourself: ${plan.ranking.ambiguity}.`);
    else if (!c || !plan.ranking.ranked.includes(c))
      tell(
        ui,
        'warning',
        `${chosen} cannot be the survivor: ${c?.dataPresent ? 'its data could not be read' : 'it has no etcd data'}. Choose a master with data.`,
      );
    else return chosen;
  }
}

export async function runQuorumWizard(
  deps: QuorumWizardDeps,
  pre: { envName?: string; deployment?: string } = {},
): Promise<QuorumWizardResult> {
  const out: QuorumWizardResult = { outcome: 'aborted', results: [], events: [], reviews: [] };
  const { ui } = deps;
  if (await refusedUntrusted(deps, 'The etcd quorum restore')) return out;
  let envName: string, deployment: string, dryRun: boolean;
  try {
    ({ envName, deployment } = await chooseDeployment(ui, deps.model, pre, {
      title: TITLE,
      steps: { environment: 1, deployment: 2, total: TOTAL },
    }));
    dryRun = await chooseDryRun(ui);
  } catch (e) {
    if (e instanceof CancelledError) return out;
    tell(ui, 'error', explainForOperator(e, 'preparing the quorum restore'));
    return out;
  }
  Object.assign(out, { envName, deployment, dryRun });

  for (let attempt = 1; ; attempt++) {
    const sink = deps.openRunSink(`etcd quorum restore ${deployment}${dryRun ? ' (dry-run)' : ''}`);
    const abort = new AbortController();
    sink.onClose(() => abort.abort());
    sink.write(
      `\x1b[1mRestore the etcd quorum of ${deployment}\x1b[0m (environment ${envName})${dryRun ? ' — DRY-RUN, nothing will change' : ''}${attempt > 1 ? ` — attempt ${attempt} (resume)` : ''}\r\nClose this terminal to stop before the next command.\r\n\r\n`,
    );
    let result: QuorumResult;
    try {
      const session = await deps.model.deploymentSession(envName, deployment);
      result = await ui.progress(
        `Restoring the etcd quorum of ${deployment}`,
        async (p) => {
          p.onCancel(() => abort.abort());
          return deps.restoreQuorum(session, {
            dryRun,
            // a resumed run keeps the survivor chosen (the record on it says the same)
            survivor: out.survivor,
            signal: abort.signal,
            transcriptDir: deps.transcriptDir(),
            onEvent: (e) => {
              out.events.push(e);
              sink.write(eventText(e));
              if (e.type === 'step-start') p.report(`Step ${e.number}/${e.total}: ${e.title}`);
            },
            chooseSurvivor: async (plan) => {
              p.report('Choose the survivor');
              return (out.survivor = await chooseSurvivor(ui, plan));
            },
            confirm: async (plan) => {
              const md = quorumReviewMarkdown(plan, { envName, dryRun });
              out.reviews.push(md);
              await deps.showReview(md, `${deployment}-quorum`);
              return confirmConsequence(ui, 'restoreQuorum', quorumConsequence(plan));
            },
          });
        },
        { cancellable: true },
      );
    } catch (e) {
      await reportRunFailure(ui, sink, e, `restoring the quorum of ${deployment}`);
      out.outcome = 'failed';
      return out;
    }
    out.results.push(result);
    out.outcome = result.outcome;
    out.survivor ??= result.plan?.survivor ?? undefined;
    sink.finished(result.outcome);
    deps.model.refreshDeployment(envName, deployment);
    if ((result.outcome === 'dry-run' || result.outcome === 'refused') && result.plan) {
      const md = quorumReviewMarkdown(result.plan, { envName, dryRun });
      out.reviews.push(md);
      await deps.showReview(md, `${deployment}-quorum`);
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
          `Dry-run of the quorum restore of ${deployment} finished: nothing was changed. The review page shows every master's evidence and every command a real run would execute.`,
        );
        return out;
      case 'refused':
        await ui.message(
          'error',
          `The quorum restore of ${deployment} was refused, nothing was changed: ${result.refusals?.map((r) => r.message).join(' ') ?? result.message} What to do: ${result.advice ?? ''}`,
        );
        return out;
      case 'declined':
        await ui.message('info', `Quorum restore of ${deployment} not confirmed: nothing was changed.`);
        return out;
      case 'cancelled': {
        if (!result.failedStep) {
          await ui.message('info', result.message);
          return out;
        }
        const a = await ui.message('warning', result.message, 'Resume');
        if (a === 'Resume') continue;
        return out;
      }
      case 'failed': {
        const a = await ui.message(
          'error',
          `The quorum restore of ${deployment} stopped: ${result.message}. ${result.advice ?? ''} Resume continues from the recorded state.`,
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
