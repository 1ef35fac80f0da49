// Planning the recovery of one or several members from the diagnosis of the whole cluster: which
// instances are broken (positive evidence from their VMs), the order etcd's rules and the job's
// start script allow, and what would make the run unsafe. Pure: no I/O. No `vscode` import here.
//
// The order, for k broken members of N (k >= 1):
//  1. every dead registration is removed first (etcd adds a voting member only while the leader is
//     connected to every voting member, so no member can come back while another dead one is still
//     registered). Quorum holds at every point iff the healthy voters are a quorum of N: removing
//     the dead ones and adding members back one at a time never needs more than quorum(N).
//  2. the members come back one at a time. A member started with an empty member/ directory is
//     started `existing` with every peer utils.sh lists, which etcd accepts only when the cluster
//     then has exactly those members: that is the runbook path (`mkdir member/` + `member add`), and
//     only the last member to come back can take it. The members before it come back through the
//     job's start script itself: without member/, a non-bootstrap instance adds itself and starts
//     with the cluster etcd returns. The bootstrap instance without member/ would start a new
//     one-member cluster, so it always takes the runbook path and comes back last.
//
// Asking for one member while another is broken too is refused, naming the other and the option
// to use (every broken member, or several targets): its dead registration would make the add fail.
import type { Finding } from '../diagnosis/types';
import type { Observation } from './observe';
import { planRecovery, type PlanOptions } from './plan';
import type { OrderEntry, Plan, Refusal } from './events';

/** Findings that are positive evidence, read on the VM or in the member list, that a member needs replacing. */
export function evidenceFor(findings: Finding[], instanceId: string): Finding | undefined {
  return findings.find(
    (f) =>
      f.instance?.id === instanceId &&
      ((f.kind === 'member-down' && f.cause !== 'vm-down') ||
        (f.kind === 'split-brain' && f.action.flow === 'recover-member') ||
        f.kind === 'instance-without-member' ||
        f.kind === 'member-unstarted' ||
        f.kind === 'learner-not-promoted' ||
        (f.kind === 'hashkv-mismatch' && f.action.flow === 'recover-member') ||
        (f.kind === 'alarm-corrupt' && f.action.flow === 'recover-member')),
  );
}

/** Findings that say a member does not serve, with or without evidence of why (its own words). */
export function notServing(findings: Finding[], instanceId: string): Finding | undefined {
  return (
    evidenceFor(findings, instanceId) ??
    findings.find((f) => f.instance?.id === instanceId && (f.kind === 'member-down' || f.kind === 'member-unknown'))
  );
}

/** The instances the diagnosis shows broken with positive evidence ('group/uuid'). */
export function brokenTargets(findings: Finding[], masters: { group: string; id: string }[]): string[] {
  return masters.filter((m) => evidenceFor(findings, m.id)).map((m) => `${m.group}/${m.id}`);
}

/** The order members come back in: non-bootstrap by index, the bootstrap instance last. */
export function orderOf(obs: Observation[]): OrderEntry[] {
  const sorted = [...obs].sort(
    (a, b) =>
      Number(!!a.target?.bootstrap) - Number(!!b.target?.bootstrap) || (a.target?.index ?? 0) - (b.target?.index ?? 0),
  );
  const n = sorted[0]?.instances.length ?? 0;
  return sorted.map((o, i) => {
    const last = i === sorted.length - 1;
    const bootstrap = !!o.target?.bootstrap;
    return {
      target: o.targetLabel,
      bootstrap,
      path: last ? 'runbook' : 'self-add',
      why: last
        ? sorted.length > 1
          ? `last to come back: after its \`member add\` the cluster has all ${n} members utils.sh lists, which its start (state existing, every peer) needs${bootstrap ? '; the bootstrap instance must take this path (without member/ it would start a new cluster)' : ''}`
          : `\`mkdir member/\` + \`member add\`, then start: the cluster then has the ${n} members utils.sh lists`
        : `started without member/: the job's start script adds it itself and starts it with the cluster etcd returns (utils.sh's ${n} peers would not match while ${sorted.length - 1 - i} more member(s) are still missing)`,
    };
  });
}

export interface MultiPlanInput {
  /** One observation per target (sharing one diagnosis). */
  observations: Observation[];
  /** The targets were asked for as 'every broken member'. */
  allBroken: boolean;
  /** Run-wide facts to show (lock, markers). */
  runNotes?: string[];
}

function refusalFor(o: Observation, trusted: boolean): Refusal | null {
  if (trusted || !o.target) return null;
  const f = o.findings.filter((x) => x.instance?.id === o.target!.id);
  if (evidenceFor(o.findings, o.target.id)) return null;
  const net = f.find((x) => x.kind === 'unreachable-from-here');
  if (net)
    return {
      code: 'network-path',
      message: `${o.targetLabel} does not answer from here, but etcd is healthy on its VM: ${net.evidence}`,
      advice: net.action.text,
    };
  const down = f.find((x) => x.kind === 'member-down' || x.kind === 'member-unknown');
  if (down)
    return {
      code: 'no-evidence',
      message: `Nothing confirms that etcd on ${o.targetLabel} is broken: ${down.evidence}`,
      advice: `${down.action.text} Replacing a member needs its VM to say etcd is down or broken (monit, local health, the log).`,
    };
  return null;
}

/** The plan of a run over one or several targets (see the order above). Never throws: problems become refusals. */
export function planAll(input: MultiPlanInput, opts: PlanOptions = {}): Plan {
  const obs = input.observations;
  const order = orderOf(obs);
  const byLabel = new Map(obs.map((o) => [o.targetLabel, o]));
  const targets = order.map((e) => e.target);
  const coTargetIds = new Set(obs.map((o) => o.target?.id).filter((x): x is string => !!x));
  const plans = order.map((e, i) => {
    const o = byLabel.get(e.target)!;
    const p = planRecovery(o, { ...opts, coTargets: coTargetIds });
    if (e.path === 'self-add') selfAdd(p, e);
    // One snapshot per run, on the first target's plan.
    if (i > 0)
      for (const s of p.steps)
        if (s.id === 'snapshot') {
          s.done = true;
          for (const c of s.commands) {
            c.done = true;
            c.doneReason = `the snapshot is taken once for this run (step 2 of ${targets[0]})`;
          }
        }
    return p;
  });
  const top: Plan = { ...plans[0], targets, order, memberPlans: plans, runNotes: [...(input.runNotes ?? [])] };
  const refusals: Refusal[] = [];
  for (const p of plans)
    for (const r of p.refusals) refusals.push(plans.length > 1 ? { ...r, message: `${p.target}: ${r.message}` } : r);
  for (const o of obs) {
    const r = refusalFor(o, !!o.targetVm?.state);
    if (r) refusals.push(r);
  }
  // Others broken that were not asked for.
  const first = obs[0];
  if (first) {
    const others = first.instances.filter(
      (i) => !coTargetIds.has(i.id) && notServing(first.findings, i.id) && evidenceFor(first.findings, i.id),
    );
    if (others.length) {
      const names = others.map((i) => `${i.group}/${i.id}`);
      refusals.push({
        code: 'other-broken',
        message: `${names.join(', ')} ${others.length > 1 ? 'are' : 'is'} broken too: while ${others.length > 1 ? 'their dead registrations stay' : 'its dead registration stays'} in the cluster, etcd refuses to add ${targets.join(', ')} back ("unhealthy cluster").`,
        advice: `Recover every broken member in one run (bosh-etcd recover --all-broken, or --instance for each of ${[...targets, ...names].join(', ')}).`,
      });
    }
  }
  if (plans.length > 1)
    top.runNotes!.push(
      `${plans.length} members are recovered: first every dead registration is removed (quorum holds: ${top.clusterSize - plans.length} healthy of ${top.clusterSize}, quorum ${top.quorum}), then they come back one at a time in this order.`,
    );
  top.refusals = refusals;
  return top;
}

/** Marks a plan's `mkdir` and `add` as taken over by the job's start script. */
function selfAdd(p: Plan, e: OrderEntry): void {
  for (const s of p.steps) {
    if (s.id !== 'mkdir' && s.id !== 'add') continue;
    s.done = true;
    for (const c of s.commands) {
      if (c.done) continue;
      c.done = true;
      c.doneReason = `the job's start script adds the member itself (${e.why.split(':')[0]})`;
    }
  }
  p.notes.push(`Comes back through the job's start script: ${e.why}.`);
}
