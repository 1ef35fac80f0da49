// The words of the disaster-recovery flows (quorum loss, restore from a snapshot): the survivor pick's
// entries, the review pages (Markdown) and the modal confirmation's consequence. The evidence, the
// ranking and what is lost come from the core (src/disaster/survivorChoice.ts); this file only lays
// them out. Plain TypeScript, no `vscode`.
import type { QuorumPlan } from '../disaster/quorumPlan';
import { lossAgainst, survivorCandidates, type SurvivorCandidate } from '../disaster/survivorChoice';
import type { PickItem } from '../ui/ui';
import type { Consequence } from './wizardTypes';

/** The pick's first entry when nothing is preselected: choosing it asks again (never a silent default). */
export const NO_AUTOMATIC_CHOICE = '__no-automatic-choice__';

const short = (label: string) => {
  const [g, id] = label.split('/');
  return id ? `${g}/${id.slice(0, 8)}` : label;
};

const named = (label: string, index: number | null) => {
  const [g, id] = label.split('/');
  return index === null || !id ? label : `${g}/${index} · ${id.slice(0, 8)}`;
};

export function survivorItems(plan: QuorumPlan): PickItem<string>[] {
  const items: PickItem<string>[] = survivorCandidates(plan).map((c: SurvivorCandidate) => {
    const e = c.evidence;
    const nums =
      e.raftIndex !== undefined
        ? `raft index ${e.raftIndex} · revision ${e.revision ?? '?'} · term ${e.raftTerm}`
        : (c.notChoosable ?? '');
    const lost = c.losses.filter((l) => l.loses);
    return {
      // short in the label (group/index and the UUID's first block); in full in the detail line
      label: `${c.preselected ? '$(star-full)' : c.choosable ? '$(database)' : '$(circle-slash)'} ${named(c.label, e.index)}${e.bootstrap ? ' (bootstrap)' : ''}`,
      description: c.choosable
        ? `#${c.rank} · ${nums}${c.preselected ? ' · most advanced' : ''}`
        : `cannot be the survivor: ${c.notChoosable}`,
      detail: `${c.line}${c.choosable ? ` — if chosen: ${lost.length ? lost.map((l) => l.text).join('; ') : 'no other master is ahead of it, nothing is lost'}` : ''}`,
      value: c.label,
      picked: c.preselected,
    };
  });
  if (!plan.ranking.preselected)
    items.unshift({
      label: '$(question) No automatic choice: choose the survivor below',
      description: plan.ranking.ambiguity,
      detail: 'Read each master’s evidence and what choosing it loses; the choice is yours.',
      value: NO_AUTOMATIC_CHOICE,
      picked: true,
    });
  return items;
}

/** The modal's words: what the run does, and what each other master loses. */
export function quorumConsequence(plan: QuorumPlan): Consequence {
  const survivor = plan.survivor!;
  const losses = lossAgainst(plan.evidence, survivor);
  const lost = losses.filter((l) => l.loses);
  return {
    message: `Rebuild the etcd cluster of ${plan.deployment} from ${short(survivor)}? ${
      lost.length
        ? `Writes only ${lost.map((l) => short(l.label)).join(', ')} had are LOST.`
        : 'No master is ahead of it: no acknowledged write is lost.'
    }`,
    detail: [
      `kube-apiserver is stopped on every master (${plan.masters.length}) until the end: the Kubernetes API is down meanwhile.`,
      `${survivor} is forced into a new one-member cluster (a copy of its db is kept on its VM), then the others come back one at a time: ${plan.rejoin.map((r) => short(r.label)).join(', ')}.`,
      ...losses.map((l) => l.text),
      "The other masters' data is moved aside (/var/vcap/store/etcd.bak-<time>), never deleted.",
    ].join('\n'),
    button: `Restore Quorum from ${short(survivor)}`,
  };
}

const cell = (s: string) => s.replace(/\|/g, '\\|');

/** The review page of a quorum restore: evidence of every master, what is lost, and every command. */
export function quorumReviewMarkdown(plan: QuorumPlan, o: { envName: string; dryRun: boolean }): string {
  const out = [
    `# etcd quorum restore of ${plan.deployment}${o.dryRun ? ' (dry run: nothing is changed)' : ''}`,
    '',
    `Environment ${o.envName} · survivor **${plan.survivor ?? '(none chosen)'}** · run ${plan.ts}${plan.resumed ? ' · resuming an interrupted run' : ''}`,
    '',
    '## Evidence of every master (most advanced first)',
    '',
    '| # | master | data | etcd | raft term | raft index | revision | read from |',
    '|---|---|---|---|---|---|---|---|',
    ...survivorCandidates(plan).map((c) => {
      const e = c.evidence;
      return `| ${c.rank ?? '–'} | ${c.label}${e.bootstrap ? ' (bootstrap)' : ''}${c.label === plan.survivor ? ' **survivor**' : ''} | ${e.dataPresent ? 'present' : 'none'} | ${e.running ? 'running' : 'stopped'} | ${e.raftTerm ?? '–'} | ${e.raftIndex ?? '–'} | ${e.revision ?? '–'} | ${e.source === 'own-status' ? 'own status' : e.source === 'offline-copy' ? 'offline copy' : cell(e.note ?? '–')} |`;
    }),
    '',
    plan.ranking.preselected
      ? `Most advanced (preselected): ${plan.ranking.preselected.label}.`
      : `No automatic choice: ${plan.ranking.ambiguity}.`,
  ];
  if (plan.survivor) {
    out.push('', '## What is lost', '', ...lossAgainst(plan.evidence, plan.survivor).map((l) => `- ${l.text}`));
  }
  if (plan.notes.length) out.push('', '## Notes', '', ...plan.notes.map((n) => `- ${n}`));
  if (plan.refusals.length)
    out.push(
      '',
      '## Refused (nothing is changed)',
      '',
      ...plan.refusals.map((r) => `- **${r.message}** What to do: ${r.advice}`),
    );
  if (plan.steps.length) {
    out.push('', '## Steps and commands', '');
    for (const s of plan.steps) {
      out.push(`### ${s.number}. ${s.title}`, '', '```sh');
      for (const c of s.commands) out.push(`# on ${c.host}: ${c.purpose}`, c.command);
      out.push('```', '');
    }
  }
  return out.join('\n') + '\n';
}

/** The review page of a restore from a snapshot: the engine's confirmation lines and plan, as run. */
export function restoreReviewMarkdown(deployment: string, lines: string[], o: { dryRun: boolean }): string {
  return [
    `# Restore ${deployment} from a snapshot${o.dryRun ? ' (dry run: nothing is changed)' : ''}`,
    '',
    '```text',
    ...lines,
    '```',
    '',
  ].join('\n');
}
