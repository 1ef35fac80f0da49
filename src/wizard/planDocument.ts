// The wizard's review page: the engine's plan as a Markdown document listing every command
// exactly as it will run, where, and why; what is already done; refusals. Plain TypeScript.
import type { Plan } from '../recovery/events';
import type { Consequence } from './wizardTypes';

export interface ReviewContext {
  envName: string;
  dryRun: boolean;
  learner: boolean;
  downloadSnapshot: boolean;
  targetAz?: string | null;
}

export function planToMarkdown(plan: Plan, ctx: ReviewContext): string {
  const L: string[] = [];
  const several = (plan.targets?.length ?? 1) > 1;
  L.push(`# Recovery plan: ${several ? `${plan.targets!.length} members` : plan.target}`, '');
  L.push(
    `Deployment **${plan.deployment}** on environment **${ctx.envName}**${ctx.targetAz ? `, AZ **${ctx.targetAz}**` : ''}.`,
    '',
  );
  if (plan.refusals.length) {
    L.push('## ⛔ The recovery will NOT run', '');
    for (const r of plan.refusals) L.push(`- **${r.message}** — ${r.advice}`);
    L.push('');
  }
  if (several && plan.order?.length) {
    L.push('## Order', '');
    L.push(
      'Every dead registration is removed first (etcd adds a member only while every registered voting member is connected), then the members come back one at a time:',
      '',
    );
    plan.order.forEach((o, i) =>
      L.push(
        `${i + 1}. \`${o.target}\`${o.bootstrap ? ' (bootstrap)' : ''} — ${o.path === 'self-add' ? "the job's start script adds it" : '`mkdir member/` + `member add`, then start'}: ${o.why}`,
      ),
    );
    L.push('');
  }
  L.push('## What will happen', '');
  L.push(
    `- Mode: ${ctx.dryRun ? '**dry-run** — nothing will be changed' : '**real run** — the cluster membership will change'}`,
  );
  L.push(
    `- Member to remove: ${plan.staleMemberId ? `\`${plan.staleMemberId}\`` : 'none registered any more'}; re-added as \`${plan.targetId}\` with peer URL \`${plan.peerUrl}\`${plan.learner ? ' as a **learner**, promoted once caught up' : ''}`,
  );
  L.push(`- Cluster: ${plan.clusterSize} members, quorum ${plan.quorum}`);
  L.push(
    `- Snapshot first: \`${plan.snapshotPath}\` on ${plan.snapshotHost ?? '(no healthy member found)'}${ctx.downloadSnapshot ? ', downloaded to the transcript folder' : ''}`,
  );
  L.push(`- Old data moved aside (not deleted) to \`${plan.backupDir}\``);
  if (plan.targetBootstrap)
    L.push(
      `- ⚠ ${plan.target} is the **bootstrap** instance: its start script would otherwise create a new single-member cluster; the plan re-creates the member directory so it joins the existing one.`,
    );
  if (plan.resumed)
    L.push(`- ↻ A previous run (${plan.ts}) was interrupted: this run continues it; steps already done are skipped.`);
  L.push('');
  if (plan.evidence.length) {
    L.push('## Why this member (evidence)', '');
    for (const e of plan.evidence) L.push(`- ${e}`);
    L.push('');
  }
  if (plan.notes.length) {
    L.push('## Notes', '');
    for (const n of plan.notes) L.push(`- ${n}`);
    L.push('');
  }
  L.push('## Steps and commands', '');
  for (const s of plan.steps) {
    L.push(`### ${s.number}. ${s.title}${s.done ? ' — already done, will be skipped' : ''}`, '');
    L.push(s.description, '');
    for (const c of s.commands) {
      const tag = c.done
        ? `already done${c.doneReason ? `: ${c.doneReason}` : ''}`
        : c.mutates
          ? 'CHANGES the cluster or VM'
          : 'read-only';
      L.push(
        `- on \`${c.host}\` (${tag}) — ${c.purpose}`,
        '',
        '  ```sh',
        `  ${c.command.replace(/\n/g, '\n  ')}`,
        '  ```',
        '',
      );
    }
    if (s.checks.length) {
      L.push('Checks after this step:', '');
      for (const ch of s.checks) L.push(`- ${ch}`);
      L.push('');
    }
  }
  return L.join('\n');
}

/** Every command line of a plan (tests compare the review page against this). */
export function planCommands(plan: Plan): string[] {
  return plan.steps.flatMap((s) => s.commands.map((c) => c.command));
}

/** The confirmation's sentence: names the consequence. */
export function consequence(plan: Plan, az?: string | null): Consequence {
  const targets = plan.targets ?? [plan.target];
  if (targets.length > 1)
    return {
      message: `Replace ${targets.length} etcd members (${targets.join(', ')}) with empty data, one at a time, in this order?`,
      detail: [
        `Their dead registrations are removed from the cluster first; then each is stopped, its data directory moved aside (not deleted), and re-added.`,
        `The cluster runs on ${plan.clusterSize - targets.length} of ${plan.clusterSize} members (quorum ${plan.quorum}) until the last one has re-joined.`,
        `A snapshot is taken first on ${plan.snapshotHost ?? 'a healthy member'}. Every command runs visibly in the terminal; you can close it to stop before the next command.`,
      ].join('\n\n'),
      button: `Replace ${targets.length} Members`,
    };
  const what = plan.staleMemberId
    ? `Remove member ${plan.staleMemberId} (instance ${plan.target}${az ? ` in AZ ${az}` : ''}) from the etcd cluster and re-add it with empty data?`
    : `Re-add instance ${plan.target}${az ? ` in AZ ${az}` : ''} to the etcd cluster with empty data?`;
  const detail = [
    `etcd on ${plan.target} is stopped and its data directory moved to ${plan.backupDir}.`,
    `The cluster runs on ${plan.clusterSize - 1} of ${plan.clusterSize} members (quorum ${plan.quorum}) until the member has re-joined and caught up.`,
    `A snapshot is taken first on ${plan.snapshotHost ?? 'a healthy member'}. Every command runs visibly in the terminal; you can close it to stop before the next command.`,
  ].join('\n\n');
  return { message: what, detail, button: plan.staleMemberId ? 'Remove and Re-add Member' : 'Re-add Member' };
}
