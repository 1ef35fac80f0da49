// Deciding the plan from an observation: which steps are needed, which are already done (state
// detection makes every step idempotent and a killed run resumable), and whether to refuse.
// Pure: no I/O. No `vscode` import here.
import type { EtcdMember } from '../etcd/types';
import { snapshotStatusTool } from '../etcd/version';
import * as cmd from './commands';
import type { Observation, MemberView } from './observe';
import { preflightRefusals, type PreflightFacts } from './preflight';
import type { Plan, PlanStep, PlannedCommand, StepId } from './events';

export interface PlanOptions {
  learner?: boolean;
  /** Clock for the recovery timestamp of a new (not resumed) run. */
  now?: Date;
}

export function quorumOf(n: number): number {
  return Math.floor(n / 2) + 1;
}

/** What the observation says about the target's membership, from the state file and the member list. */
export interface TargetMembership {
  /** Dead member still registered (to remove). */
  stale: EtcdMember | null;
  /** Member re-added for this instance (different id from the stale one): unstarted (nameless) or started. */
  added: EtcdMember | null;
  /** `added` has started (has its name). */
  addedStarted: boolean;
}

export function targetMembership(obs: Observation): TargetMembership {
  const t = obs.target;
  const members = obs.members ?? [];
  if (!t || t.index === null) return { stale: null, added: null, addedStarted: false };
  const peer = cmd.expectedPeerUrl(t.index);
  const mine = members.filter((m) => m.name === t.id || m.peerURLs.includes(peer));
  const state = obs.targetVm?.state ?? null;
  let stale: EtcdMember | null = null;
  if (state) {
    // Resumed: the state file names the member that was dead when the run began.
    stale = state.oldMemberId ? (mine.find((m) => m.id === state.oldMemberId) ?? null) : null;
  } else {
    // Fresh: a named member is the old one; a nameless one is an `unstarted` add (ours, or the start script's self-add: reliability 9).
    stale = mine.find((m) => m.name === t.id) ?? null;
  }
  const added = mine.find((m) => m !== stale && (state ? m.id !== state.oldMemberId : m.name === '')) ?? null;
  return { stale, added, addedStarted: !!added && added.name === t.id };
}

function dataOnlyEmptyMemberDir(obs: Observation): boolean {
  const vm = obs.targetVm;
  if (!vm) return false;
  const d = vm.dataEntries;
  if (d === null || d.length === 0) return true;
  return d.length === 1 && d[0] === 'member' && vm.memberDir.exists && vm.memberDir.entries.length === 0;
}

const TITLES: Record<StepId, [string, string]> = {
  preflight: [
    'Pre-flight checks',
    'Quorum and a leader without the target, the target really is the broken member, its identity (name = instance UUID, peer URL), alarms and disk space.',
  ],
  snapshot: [
    'Snapshot a healthy member',
    'Save the keyspace on a healthy member before any membership change; abort if it fails.',
  ],
  stop: [
    'Stop etcd on the target and move its data aside',
    'monit stop etcd, wait until not monitored, then move the old data directory contents to a timestamped backup (kept, not deleted).',
  ],
  remove: [
    'Remove the dead member',
    'etcdctl member remove <hex id>: the cluster forgets the dead member (never retried blindly; a timeout is followed by a re-list).',
  ],
  mkdir: [
    'Recreate the empty member/ directory',
    "An empty member/ owned by vcap makes the job's start script join the existing cluster instead of self-adding (or, on the bootstrap instance, creating a new one-member cluster).",
  ],
  add: [
    'Add the member back',
    'source utils.sh and etcdctl member add <instance uuid> --peer-urls ${etcd_peer_address}: registers the new member as unstarted.',
  ],
  start: [
    'Start etcd and wait until it has caught up',
    "monit start etcd; wait until the member is started, healthy, a voter, its raft index caught up and hashKV equal to the leader's at the same revision.",
  ],
  postcheck: [
    'Post-checks',
    'All members healthy, the Director reports the instance running, no alarms; clear the recovery record.',
  ],
};

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
  const tv: MemberView | undefined = t ? obs.views.find((v) => v.instance.id === t.id) : undefined;
  let peerUrl = '';
  try {
    if (t && t.index !== null) peerUrl = cmd.expectedPeerUrl(t.index);
  } catch {
    /* refused below */
  }
  const mem = targetMembership(obs);
  const snapshotHost = state?.snapshotHost ?? obs.helper?.label ?? null;
  const label = obs.targetLabel;

  const facts: PreflightFacts = { obs, membership: mem, learner, resumed, peerUrl, quorum, clusterSize: n };
  const { refusals, evidence, notes } = preflightRefusals(facts);

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
  const started = mem.addedStarted;
  const monit = vm?.monitEtcd ?? 'unknown';
  const helper = snapshotHost ?? '(no healthy member)';

  const c = (host: string, rc: cmd.RemoteCommand, done: boolean, doneReason?: string): PlannedCommand => ({
    host,
    command: rc.command,
    purpose: rc.purpose,
    mutates: rc.mutates,
    done,
    doneReason: done ? doneReason : undefined,
  });
  const safe = <T>(f: () => T, fallback: T): T => {
    try {
      return f();
    } catch {
      return fallback;
    }
  };
  const bad = (what: string): cmd.RemoteCommand => ({
    command: `# (not built: ${what})`,
    mutates: true,
    purpose: what,
  });

  const steps: PlanStep[] = [];
  const add = (id: StepId, commands: PlannedCommand[], checks: string[]) => {
    const [title, description] = TITLES[id];
    steps.push({
      id,
      number: steps.length + 1,
      title,
      description,
      commands,
      checks,
      done: commands.length > 0 && commands.every((x) => x.done),
    });
  };

  add(
    'preflight',
    [c(label, cmd.monitSummary(), false), c(helper, cmd.memberList(), false)],
    [
      'quorum and leader without the target',
      'target is broken',
      'member name = instance UUID, peer URL matches',
      'no alarms on healthy members',
      'disk space on target and snapshot member',
    ],
  );

  const snapDone = resumed;
  // the snapshot member's server version and whether its VM has etcdutl decide the status command
  const helperStatus = obs.views.find((v) => v.label === obs.helper?.label)?.status;
  const snapshotTool = snapshotStatusTool(
    helperStatus?.ok ? helperStatus.value.version : undefined,
    obs.helper?.vm.etcdutl ?? false,
  );
  add(
    'snapshot',
    [
      c(
        helper,
        safe(() => cmd.snapshotSave(ts), bad('snapshot')),
        snapDone,
        'a snapshot was taken when this recovery started',
      ),
      c(
        helper,
        safe(() => cmd.snapshotStatus(ts, snapshotTool), bad('snapshot status')),
        snapDone,
        'a snapshot was taken when this recovery started',
      ),
    ],
    ['snapshot file exists and `snapshot status` reads it'],
  );

  const afterAdd = !!newId;
  const stopDone = afterAdd || (monit === 'not-monitored' && !vm?.etcdAlive);
  // etcd already running for the re-added member (the start script self-added it behind our back: reliability 9)
  const runningAdded = afterAdd && monit === 'running' && !!vm?.etcdAlive;
  const moveDone = started || runningAdded || dataOnlyEmptyMemberDir(obs);
  add(
    'stop',
    [
      c(
        label,
        safe(() => cmd.writeStateFile(ts, staleId, snapshotHost), bad('state file')),
        resumed,
        'the recovery record exists',
      ),
      c(
        label,
        cmd.monitStop(),
        stopDone,
        afterAdd ? 'the member was already re-added' : 'monit already reports etcd not monitored',
      ),
      c(
        label,
        safe(() => cmd.moveDataAside(ts), bad('move')),
        moveDone,
        started || runningAdded
          ? 'etcd already runs for the re-added member'
          : 'the data directory holds nothing to move',
      ),
    ],
    ['monit reports etcd not monitored and the process is gone', `${cmd.DATA_DIR} holds nothing but an empty member/`],
  );

  add(
    'remove',
    [
      c(
        label,
        staleId
          ? cmd.memberRemove(staleId)
          : {
              command: `${cmd.ETCDCTL} member remove <id of the dead member>`,
              mutates: true,
              purpose: 'remove the dead member from the cluster',
            },
        !staleId,
        'the dead member is no longer registered',
      ),
    ],
    ['member list no longer has the dead member'],
  );

  const mkdirDone =
    started ||
    runningAdded ||
    (!!vm?.memberDir.exists &&
      (vm.memberDir.owner ?? '').startsWith('vcap:') &&
      vm.memberDir.entries.length === 0 &&
      dataOnlyEmptyMemberDir(obs));
  add(
    'mkdir',
    [
      c(
        label,
        cmd.recreateMemberDir(),
        mkdirDone,
        started || runningAdded ? 'etcd already runs for the re-added member' : 'an empty member/ owned by vcap exists',
      ),
    ],
    [`${cmd.MEMBER_DIR} exists, owned by vcap, empty`],
  );

  add(
    'add',
    [
      c(
        label,
        safe(() => cmd.memberAdd(t?.id ?? '', learner), bad('member add')),
        afterAdd,
        `member ${newId} is already registered for ${label}`,
      ),
    ],
    [
      'member list has an unstarted member with the peer URL',
      learner ? 'the new member is a learner' : 'the new member is a voter',
    ],
  );

  const startDone = monit === 'running' && !!vm?.etcdAlive && afterAdd;
  const startCmds = [c(label, cmd.monitStart(), startDone, 'monit already runs etcd')];
  if (learner || mem.added?.isLearner) {
    startCmds.push(
      c(
        label,
        newId
          ? cmd.memberPromote(newId)
          : {
              command: `${cmd.ETCDCTL} member promote <id of the new member>`,
              mutates: true,
              purpose: 'promote the learner to a voting member',
            },
        !!mem.added && !mem.added.isLearner && started,
        'the member is already a voter',
      ),
    );
  }
  add('start', startCmds, [
    'monit reports etcd running',
    'member started with its name',
    'endpoint healthy',
    'not a learner',
    'raft index caught up with the leader',
    "hashKV equal to the leader's at the same revision",
  ]);

  add(
    'postcheck',
    [c(label, cmd.removeStateFile(), false)],
    ['all members healthy', 'member names = instance UUIDs', 'Director reports the instance running', 'no alarms'],
  );

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
    snapshotPath: safe(() => cmd.snapshotPathFor(ts), ''),
    backupDir: safe(() => cmd.backupDirFor(ts), ''),
    evidence,
    notes,
    refusals,
    steps,
    clusterSize: n,
    quorum,
  };
  void tv;
}

/** The plan as text (CLI, dry-run, transcript). */
export function formatPlan(plan: Plan): string {
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
  for (const r of plan.refusals) out.push(`REFUSED (${r.code}): ${r.message}\n   what to do: ${r.advice}`);
  return out.join('\n');
}
