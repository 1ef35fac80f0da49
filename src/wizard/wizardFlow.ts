// The recovery wizard's flow, independent of VS Code: environment → deployment → member (the
// broken one preselected, with its evidence) → options (chooseMember.ts) → engine run whose plan is
// shown on a review page and confirmed in a modal that names the consequence → result, with Resume
// on failure and the health panel on success. Every prompt goes through the Ui seam; the seams are
// typed in wizardTypes.ts.
import { instanceName } from '../bosh/types';
import type { MemberView } from '../diagnosis/membership';
import type { Plan, RecoveryResult } from '../recovery/events';
import { explainForOperator } from '../util/errors';
import { CancelledError } from '../ui/ui';
import { consequence, planToMarkdown, type ReviewContext } from './planDocument';
import { eventText } from './eventText';
import { chooseOptions, chooseTarget, isEveryBroken, type MemberChoice } from './chooseMember';
import {
  confirmConsequence,
  type WizardDeps,
  type WizardOptions,
  type WizardPreselect,
  type WizardResult,
} from './wizardTypes';
import { reportRunFailure, tell } from './runGate';
import { refusedUntrusted } from './trust';

export async function runWizard(deps: WizardDeps, pre: WizardPreselect = {}): Promise<WizardResult> {
  const out: WizardResult = { outcome: 'aborted', results: [], reviews: [], events: [] };
  const { ui } = deps;
  if (await refusedUntrusted(deps, 'The etcd recovery wizard')) return out;
  let envName: string, deployment: string, candidate: MemberChoice, members: MemberView[] | undefined;
  let options: WizardOptions;
  try {
    ({ envName, deployment, candidate, members } = await chooseTarget(deps, pre));
    options = await chooseOptions(deps, members);
  } catch (e) {
    if (e instanceof CancelledError) return out;
    tell(ui, 'error', explainForOperator(e, 'preparing the recovery'));
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
              return confirmConsequence(ui, 'recover', consequence(plan, az));
            },
          });
        },
        { cancellable: true },
      );
    } catch (e) {
      await reportRunFailure(ui, sink, e, `recovering ${target}`);
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
