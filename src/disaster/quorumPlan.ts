// The quorum-loss plan, from the evidence of every master: refusals (quorum still there, no usable
// survivor, bad input), the survivor, the order the others come back in, and the commands of each
// step for review and dry-run. Pure: no I/O. No `vscode` import here.
import * as cmd from '../recovery/commands';
import { quorumOf } from '../recovery/membership';
import type { PlannedCommand, Refusal } from '../recovery/events';
import { describeEvidence, rankSurvivors, type MasterEvidence, type Ranking } from './evidence';
import { monitStartProcess, monitStopProcess } from './fleet';
import * as q from './quorumCommands';

export type QuorumStepId =
  | 'stop-clients'
  | 'stop-etcd'
  | 'copy-db'
  | 'move-aside'
  | 'force-new-cluster'
  | 'start-survivor'
  | 'rejoin'
  | 'start-clients'
  | 'verify';

export interface QuorumStep {
  id: QuorumStepId;
  number: number;
  title: string;
  commands: PlannedCommand[];
}

/** How one master comes back (src/recovery/order.ts's rule: the bootstrap instance by the runbook, last). */
export interface Rejoin {
  label: string;
  path: 'self-add' | 'runbook';
}

export interface QuorumPlan {
  deployment: string;
  ts: string;
  resumed: boolean;
  survivor: string | null;
  masters: string[];
  evidence: MasterEvidence[];
  ranking: Ranking;
  rejoin: Rejoin[];
  learner: boolean;
  notes: string[];
  refusals: Refusal[];
  steps: QuorumStep[];
}

export interface QuorumPlanInput {
  deployment: string;
  evidence: MasterEvidence[];
  /** --survivor, 'group/uuid'. */
  survivor?: string;
  /** The record of an unfinished earlier run (on the survivor). */
  record?: q.QuorumRecord | null;
  now: Date;
  /** etcd 3.4+: the member that comes back by the runbook is added as a learner first. */
  learners: boolean;
}

const p = (host: string, rc: cmd.RemoteCommand): PlannedCommand => ({ host, ...rc, done: false });

/** The order the other masters come back in: non-bootstrap by index (they add themselves), the bootstrap last. */
export function rejoinOrder(others: MasterEvidence[]): Rejoin[] {
  return [...others]
    .sort((a, b) => Number(a.bootstrap) - Number(b.bootstrap) || (a.index ?? 0) - (b.index ?? 0))
    .map((e) => ({ label: e.label, path: e.bootstrap ? 'runbook' : 'self-add' }));
}

export function planQuorumRestore(input: QuorumPlanInput): QuorumPlan {
  const { evidence, record } = input;
  const masters = evidence.map((e) => e.label);
  const n = masters.length;
  const quorum = quorumOf(n);
  const ranking = rankSurvivors(evidence);
  const refusals: Refusal[] = [];
  const notes: string[] = [];
  const resumed = !!record && !record.finished;
  const ts = resumed ? record!.ts : cmd.stampOf(input.now);
  let survivor: string | null = input.survivor ?? null;

  if (survivor) {
    try {
      cmd.validateInstanceLabel(survivor);
    } catch (e) {
      refusals.push({
        code: 'invalid-input',
        message: (e as Error).message,
        advice: 'Give --survivor as master/<uuid>.',
      });
      survivor = null;
    }
  }
  if (resumed) {
    notes.push(
      `Resuming the quorum restore started at ${record!.ts} with survivor ${record!.survivor}: steps already done are skipped.`,
    );
    if (survivor && survivor !== record!.survivor)
      refusals.push({
        code: 'plan-changed',
        message: `An unfinished quorum restore (started ${record!.ts}) chose ${record!.survivor} as the survivor, not ${survivor}.`,
        advice: `Run again with --survivor ${record!.survivor} to finish it.`,
      });
    survivor = record!.survivor;
  }
  const unreachable = evidence.filter((e) => e.note?.startsWith('unreachable'));
  if (unreachable.length)
    refusals.push({
      code: 'observation-failed',
      message: `Cannot reach ${unreachable.map((e) => e.label).join(', ')}: etcd must be stopped on every master before a new cluster is forced.`,
      advice: 'Restore SSH access to every master (bosh -d D ssh), then run again; nothing was changed.',
    });

  if (!resumed) {
    // a healthy member of a cluster smaller than a quorum of the masters is a split-off (e.g. the bootstrap
    // instance's start script formed a new one-member cluster): not the deployment's quorum
    const healthy = evidence.filter((e) => e.healthy && (e.memberCount ?? n) >= quorum);
    for (const e of evidence.filter((x) => x.healthy && !healthy.includes(x)))
      notes.push(
        `${e.label} answers, but in a cluster of ${e.memberCount} member(s): split off, not the quorum of ${n} masters.`,
      );
    if (healthy.length)
      refusals.push({
        code: 'quorum',
        message: `Quorum still exists: ${healthy.map((e) => e.label).join(', ')} answer${healthy.length === 1 ? 's' : ''} a linearizable health check.`,
        advice:
          'Replace the broken members one by one with the member recovery (bosh-etcd recover --deployment D --instance master/<uuid>, or every broken one with --all-broken); forcing a new cluster would throw away a working one.',
      });
    const readable = ranking.ranked.filter((e) => e.clusterId === ranking.ranked[0]?.clusterId);
    if (!healthy.length && readable.length >= quorum)
      refusals.push({
        code: 'quorum',
        message: `${readable.length} of ${n} masters (${readable.map((e) => e.label).join(', ')}) still have readable data of the same cluster: a quorum (${quorum}) of them can come back by starting etcd.`,
        advice:
          'Start etcd on them (monit start etcd; bosh-etcd status shows why it is down), then replace the rest with bosh-etcd recover. Use this flow only when fewer than a quorum of members have their data.',
      });
    if (!survivor)
      refusals.push({
        code: 'invalid-input',
        message: ranking.preselected
          ? `No survivor chosen; the most advanced is ${ranking.preselected.label}.`
          : `No survivor chosen, and none can be preselected: ${ranking.ambiguity}.`,
        advice: ranking.ranked.length
          ? `Choose the survivor explicitly: --survivor ${ranking.ranked[0].label} (see the evidence of every master).`
          : 'No master has readable data: restore from a snapshot (bosh-etcd restore).',
      });
  }
  const surv = evidence.find((e) => e.label === survivor);
  if (survivor && !surv)
    refusals.push({
      code: 'target-unknown',
      message: `${survivor} is not a master of ${input.deployment}.`,
      advice: `Choose one of: ${masters.join(', ')}.`,
    });
  else if (surv && !resumed && surv.raftIndex === undefined)
    refusals.push({
      code: 'invalid-input',
      message: `${survivor} has no readable etcd data (${surv.note ?? (surv.dataPresent ? 'unreadable' : 'no data')}).`,
      advice: ranking.ranked.length
        ? `Choose a master with data: ${ranking.ranked.map((e) => e.label).join(', ')}.`
        : 'No master has readable data: restore from a snapshot (bosh-etcd restore).',
    });
  if (surv && !resumed && ranking.ranked[0] && ranking.ranked[0] !== surv && surv.raftIndex !== undefined)
    notes.push(
      `${survivor} is not the most advanced master (${ranking.ranked[0].label} is): what only ${ranking.ranked[0].label} has is lost.`,
    );
  if (!ranking.preselected && ranking.ambiguity && !resumed) notes.push(`No automatic choice: ${ranking.ambiguity}.`);
  for (const e of evidence) notes.push(describeEvidence(e, surv));

  const others = evidence.filter((e) => e.label !== survivor);
  const rejoin = rejoinOrder(others);
  const learner = input.learners && rejoin.some((r) => r.path === 'runbook');
  if (surv?.bootstrap === false && rejoin.some((r) => r.path === 'runbook'))
    notes.push(
      `${rejoin.find((r) => r.path === 'runbook')!.label} is the bootstrap instance: without member/ its start script would form a new one-member cluster, so it comes back last, by the runbook (mkdir member/, member add${learner ? ' --learner, promoted once in sync' : ''}).`,
    );
  const steps = survivor ? stepsOf(survivor, masters, rejoin, ts, learner) : [];
  return {
    deployment: input.deployment,
    ts,
    resumed,
    survivor,
    masters,
    evidence,
    ranking,
    rejoin,
    learner,
    notes,
    refusals,
    steps,
  };
}

function stepsOf(survivor: string, masters: string[], rejoin: Rejoin[], ts: string, learner: boolean): QuorumStep[] {
  const others = masters.filter((m) => m !== survivor);
  const raw: Omit<QuorumStep, 'number'>[] = [
    {
      id: 'stop-clients',
      title: 'Stop kube-apiserver (and the other etcd clients monit runs) on every master',
      commands: masters.map((m) => p(m, monitStopProcess('kube-apiserver'))),
    },
    {
      id: 'stop-etcd',
      title: 'Stop etcd on every master and verify it is down',
      commands: masters.map((m) => p(m, cmd.monitStop())),
    },
    {
      id: 'copy-db',
      title: "Record the run and keep a copy of the survivor's db on its VM",
      commands: [p(survivor, q.writeRecord(ts, survivor)), p(survivor, q.copySurvivorDb(ts))],
    },
    {
      id: 'move-aside',
      title: "Move every other member's data aside (kept, timestamped)",
      commands: others.map((m) => p(m, cmd.moveDataAside(ts))),
    },
    {
      id: 'force-new-cluster',
      title: 'Run the survivor once as a new one-member cluster (outside monit) until healthy, then stop it',
      commands: [
        p(survivor, q.forceNewClusterStart(survivor.split('/')[1])),
        p(survivor, q.forceNewClusterStop(survivor.split('/')[1])),
        p(survivor, q.appendRecord('forced')),
      ],
    },
    { id: 'start-survivor', title: 'Start the survivor under monit', commands: [p(survivor, cmd.monitStart())] },
    {
      id: 'rejoin',
      title: 'Add the other masters back one at a time',
      commands: rejoin.flatMap((r) =>
        r.path === 'self-add'
          ? [p(r.label, cmd.monitStart())]
          : [
              p(r.label, cmd.recreateMemberDir()),
              p(r.label, cmd.memberAdd(r.label.split('/')[1], learner)),
              p(r.label, cmd.monitStart()),
              ...(learner
                ? [
                    p(survivor, {
                      command: `${cmd.ETCDCTL} member promote <id of the new member>`,
                      mutates: true,
                      purpose: 'promote the learner once in sync (on the master whose etcd leads then)',
                    }),
                  ]
                : []),
            ],
      ),
    },
    {
      id: 'start-clients',
      title: 'Start kube-apiserver (and the other etcd clients) again',
      commands: masters.map((m) => p(m, monitStartProcess('kube-apiserver'))),
    },
    {
      id: 'verify',
      title: 'Verify the cluster (and that monit runs kube-apiserver again)',
      commands: [p(survivor, q.appendRecord('finished'))],
    },
  ];
  return raw.map((s, i) => ({ ...s, number: i + 1 }));
}

export function formatQuorumPlan(plan: QuorumPlan): string {
  const out = [
    `Quorum restore of ${plan.deployment} from ${plan.survivor ?? '(no survivor chosen)'} (${plan.masters.length} masters; run ${plan.ts})`,
  ];
  for (const n of plan.notes) out.push(`  ${n}`);
  if (plan.rejoin.length)
    out.push(`  The others come back in this order: ${plan.rejoin.map((r) => `${r.label} (${r.path})`).join(', ')}.`);
  for (const s of plan.steps) {
    out.push(`${s.number}. ${s.title}`);
    for (const c of s.commands) out.push(`   [${c.host}] $ ${c.command}`);
  }
  for (const r of plan.refusals) out.push(`REFUSED (${r.code}): ${r.message}\n   what to do: ${r.advice}`);
  return out.join('\n');
}
