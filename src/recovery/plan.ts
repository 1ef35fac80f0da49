// Deciding the plan from an observation: which steps are needed, which are already done (state
// detection makes every step idempotent and a killed run resumable), and whether to refuse.
// Pure: no I/O. No `vscode` import here.
import * as cmd from './commands';
import type { Observation } from './observe';
import { preflightRefusals, type PreflightFacts } from './preflight';
import { quorumOf, targetMembership } from './membership';
import { STEPS, type PlanFacts } from './steps';
import type { Plan, PlanStep } from './events';

export interface PlanOptions {
  learner?: boolean;
  /** Clock for the recovery timestamp of a new (not resumed) run. */
  now?: Date;
  /** The run id the resume marker is bound to (the cluster lock's). */
  runId?: string;
  /** Instance ids recovered in the same run (their unstarted members and alarms are expected). */
  coTargets?: ReadonlySet<string>;
}

/** A validated path, or '' when the timestamp is not valid (the plan refuses then). */
function orEmpty(f: () => string): string {
  try {
    return f();
  } catch {
    return '';
  }
}

function dataOnlyEmptyMemberDir(obs: Observation): boolean {
  const vm = obs.targetVm;
  if (!vm) return false;
  const d = vm.dataEntries;
  if (d === null || d.length === 0) return true;
  return d.length === 1 && d[0] === 'member' && vm.memberDir.exists && vm.memberDir.entries.length === 0;
}

/** Builds the plan. Never throws for a bad cluster: problems become refusals. */
export function planRecovery(obs: Observation, opts: PlanOptions = {}): Plan {
  const t = obs.target;
  const vm = obs.targetVm;
  const state = vm?.state ?? null;
  const resumed = !!state;
  const ts = state?.ts ?? cmd.stampOf(opts.now ?? new Date());
  const learner = !!opts.learner;
  const n = obs.instances.length;
  const quorum = quorumOf(n);
  let peerUrl = '';
  try {
    if (t && t.index !== null) peerUrl = cmd.expectedPeerUrl(t.index);
  } catch {
    /* refused below */
  }
  const mem = targetMembership(obs);
  const snapshotHost = state?.snapshotHost ?? obs.helper?.label ?? null;
  const label = obs.targetLabel;

  const preflight: PreflightFacts = {
    obs,
    membership: mem,
    learner,
    resumed,
    peerUrl,
    quorum,
    clusterSize: n,
    coTargets: opts.coTargets ?? new Set(),
  };
  const { refusals, evidence, notes } = preflightRefusals(preflight);

  if (t?.bootstrap) {
    notes.push(
      `${label} is the bootstrap instance: if its start script found no ${cmd.MEMBER_DIR}, it would create a brand-new single-member cluster (split brain). Step 5 recreates the empty member/ directory before etcd starts so it joins the existing cluster instead.`,
    );
  }
  if (learner)
    notes.push('The member is re-added as a learner (non-voting) and promoted once it is in sync with the leader.');
  if (resumed)
    notes.push(
      `Resuming the recovery started at ${state!.ts} (state file ${cmd.STATE_FILE} on the target): steps already done are skipped.`,
    );
  if (mem.added && !mem.stale && !resumed)
    notes.push(
      `An unstarted member for ${label} is already registered (id ${mem.added.id}, probably the job's start script self-adding): it is kept, not added twice.`,
    );

  const newId = mem.added?.id ?? null;
  const staleId = mem.stale?.id ?? null;
  const monit = vm?.monitEtcd ?? 'unknown';
  const etcdAlive = !!vm?.etcdAlive;
  const facts: PlanFacts = {
    obs,
    label,
    helper: snapshotHost ?? '(no healthy member)',
    snapshotHost,
    ts,
    learner,
    resumed,
    membership: mem,
    staleId,
    newId,
    monit,
    etcdAlive,
    // the run got that far, or the job's start script added the member and monit started it behind our back
    etcdRunsForAdded: mem.addedStarted || (!!newId && monit === 'running' && etcdAlive),
    dataDirEmpty: dataOnlyEmptyMemberDir(obs),
    runId: opts.runId ?? null,
    peerUrl,
  };
  const steps: PlanStep[] = STEPS.map((step, i) => {
    const commands = step.commands(facts);
    return {
      id: step.id,
      number: i + 1,
      title: step.title,
      description: step.description,
      commands,
      checks: step.checks(facts),
      done: commands.length > 0 && commands.every((x) => x.done),
    };
  });

  return {
    deployment: obs.deployment,
    target: label,
    targetId: t?.id ?? label.split('/')[1] ?? '',
    targetIndex: t?.index ?? null,
    targetBootstrap: !!t?.bootstrap,
    ts,
    resumed,
    learner,
    peerUrl,
    staleMemberId: staleId,
    newMemberId: newId,
    snapshotHost,
    snapshotPath: orEmpty(() => cmd.snapshotPathFor(ts)),
    backupDir: orEmpty(() => cmd.backupDirFor(ts)),
    evidence,
    notes,
    refusals,
    steps,
    clusterSize: n,
    quorum,
  };
}

/** The plan as text (CLI, dry-run, transcript); a plan of several targets shows the order, why, and each member's steps. */
export function formatPlan(plan: Plan): string {
  if (!plan.memberPlans || plan.memberPlans.length <= 1) {
    const notes = plan.runNotes?.length ? plan.runNotes.map((n) => `  note: ${n}`).join('\n') + '\n' : '';
    return notes + formatOne(plan, plan.refusals);
  }
  const out: string[] = [`Recovery of ${plan.memberPlans.length} members in ${plan.deployment}, in this order:`];
  for (const [i, e] of (plan.order ?? []).entries())
    out.push(`  ${i + 1}. ${e.target}${e.bootstrap ? ' (bootstrap)' : ''}: ${e.path} — ${e.why}`);
  for (const n of plan.runNotes ?? []) out.push(`  note: ${n}`);
  out.push(
    'Phases: steps 1-4 (checks, snapshot, stop and move aside, remove the dead member) for every member first; then steps 5-7 (member/, add, start) one member at a time in the order above; then step 8 (post-checks) for each.',
  );
  for (const p of plan.memberPlans) out.push('', formatOne(p, []));
  for (const r of plan.refusals) out.push(`REFUSED (${r.code}): ${r.message}\n   what to do: ${r.advice}`);
  return out.join('\n');
}

function formatOne(plan: Plan, refusals: Plan['refusals']): string {
  const out: string[] = [];
  out.push(
    `Recovery plan for ${plan.target} in ${plan.deployment} (peer URL ${plan.peerUrl || 'unknown'}; ${plan.clusterSize} members, quorum ${plan.quorum})`,
  );
  for (const e of plan.evidence) out.push(`  evidence: ${e}`);
  for (const n of plan.notes) out.push(`  note: ${n}`);
  for (const s of plan.steps) {
    out.push(`${s.number}. ${s.title}${s.done ? '  [already done]' : ''}`);
    for (const c of s.commands) {
      out.push(
        `   ${c.done ? '(done) ' : ''}[${c.host}] $ ${c.command}${c.done && c.doneReason ? `   # ${c.doneReason}` : ''}`,
      );
    }
    for (const k of s.checks) out.push(`   check: ${k}`);
  }
  for (const r of refusals) out.push(`REFUSED (${r.code}): ${r.message}\n   what to do: ${r.advice}`);
  return out.join('\n');
}
