// After the confirmation: observe again and compare with what the plan was made from. The
// confirmation may have taken long; any change the plan depends on stops the run before it changes
// anything. No `vscode` import here.
import type { Observation } from './observe';
import type { Plan, Refusal } from './events';

export interface Planned {
  obs: Observation[];
  plan: Plan;
}

/** Observing again: the same plan holds, the cluster changed (with the refusal that says how), or observing failed. */
export type Replanned =
  | { kind: 'same'; again: Planned }
  | { kind: 'changed'; again: Planned; refusal: Refusal }
  | { kind: 'failed'; message: string; advice: string };

/** Run-wide facts a later observation must still show for the plan to hold (compared after confirmation). */
export function planFingerprint(plan: Plan, obs: Observation[]): string[] {
  const out: string[] = [];
  const first = obs[0];
  if (first) {
    out.push(
      `member ids: ${(first.members ?? [])
        .map((m) => `${m.id}${m.name ? '' : ' (unstarted)'}`)
        .sort()
        .join(', ')}`,
    );
    const leaders = new Set(
      first.views.flatMap((v) => (v.healthy && v.status?.ok && v.status.value.leader ? [v.status.value.leader] : [])),
    );
    out.push(`leader: ${[...leaders].sort().join(', ') || 'none'}`);
    const targets = new Set(obs.map((o) => o.target?.id));
    for (const v of first.views)
      if (!targets.has(v.instance.id))
        out.push(
          `${v.label}: ${v.healthy ? 'healthy' : 'not healthy'}, Director ${v.instance.processState ?? 'unknown'}`,
        );
  }
  for (const p of plan.memberPlans ?? [plan]) {
    const o = obs.find((x) => x.targetLabel === p.target);
    const tv = o?.views.find((v) => v.instance.id === p.targetId);
    out.push(
      `${p.target}: ${tv?.healthy ? 'healthy' : 'broken'}, dead member ${p.staleMemberId ?? 'none'}, re-added ${p.newMemberId ?? 'none'}, marker ${o?.marker ? `${o.marker.ts} run ${o.marker.runId ?? 'none'}` : 'none'}`,
    );
  }
  return out;
}

/** What changed between two fingerprints, in words. */
function fingerprintDiff(before: string[], after: string[]): string[] {
  const key = (l: string) => l.slice(0, l.indexOf(':'));
  const b = new Map(before.map((l) => [key(l), l]));
  const a = new Map(after.map((l) => [key(l), l]));
  const out: string[] = [];
  for (const [k, l] of b) if (a.get(k) !== l) out.push(`was "${l}", now "${a.get(k) ?? `${k}: gone`}"`);
  for (const [k, l] of a) if (!b.has(k)) out.push(`new: "${l}"`);
  return out;
}

export async function observeAgainAndCompare(
  confirmed: Planned,
  observeAndPlan: () => Promise<Planned>,
): Promise<Replanned> {
  const { plan, obs } = confirmed;
  const before = planFingerprint(plan, obs);
  let again: Planned;
  try {
    again = await observeAndPlan();
  } catch (e) {
    return {
      kind: 'failed',
      message: `Could not observe the cluster again after the confirmation: ${(e as Error).message}`,
      advice: 'Run again; nothing was changed.',
    };
  }
  const diff = fingerprintDiff(before, planFingerprint(again.plan, again.obs));
  const sameTargets = (again.plan.targets ?? []).join(' ') === (plan.targets ?? []).join(' ');
  if (diff.length || !sameTargets || again.plan.refusals.length) {
    return {
      kind: 'changed',
      again,
      refusal: {
        code: 'plan-changed',
        message: `The cluster changed between the plan and the confirmation: ${[
          ...diff,
          ...(sameTargets ? [] : [`targets were ${plan.targets?.join(', ')}, now ${again.plan.targets?.join(', ')}`]),
          ...again.plan.refusals.map((r) => `now refused: ${r.message}`),
        ].join('; ')}.`,
        advice:
          'Nothing was changed. Look at the cluster again (bosh-etcd status) and run the recovery again if it is still needed.',
      },
    };
  }
  return { kind: 'same', again };
}
