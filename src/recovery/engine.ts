// The recovery engine: observe → plan → confirm → run the steps, each a visible runbook command
// on a VM plus a structured check of its effect. Stops at the first failure, on cancel, and on
// loss of quorum; a later run resumes from the observed state. No `vscode` import here.
import * as fs from 'fs';
import * as path from 'path';
import type { InstanceInfo } from '../bosh/types';
import type { DeploymentSession } from '../session/types';
import type { EtcdCluster, EtcdMember, EndpointStatus } from '../etcd/types';
import type { RemoteHost, ExecResult } from '../ssh/types';
import * as cmd from './commands';
import { observeCluster, parseProbe, type Observation, type VmProbe } from './observe';
import { planRecovery, formatPlan, quorumOf } from './plan';
import { Transcript } from './transcript';
import {
  STEP_ORDER,
  type Plan,
  type PlanStep,
  type PlannedCommand,
  type RecoveryEvent,
  type RecoveryOptions,
  type RecoveryResult,
  type StepId,
} from './events';

/** A step failed: what failed, and what the operator should do. */
export class StepError extends Error {
  constructor(
    message: string,
    public readonly advice: string,
  ) {
    super(message);
    this.name = 'StepError';
  }
}

export class CancelledError extends Error {
  constructor(message = 'cancelled by the operator') {
    super(message);
    this.name = 'CancelledError';
  }
}

const RESUME_ADVICE =
  'Fix the cause, then run the recovery again: it re-reads the state and continues where this run stopped (steps already done are skipped).';

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      resolve();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

function cmpBig(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Summary lines of an observation (transcript and `observed` event). */
export function summarize(obs: Observation): string[] {
  const out: string[] = [];
  out.push(
    `Director: ${obs.instances.map((i) => `${i.group}/${i.id} (index ${i.index}${i.bootstrap ? ', bootstrap' : ''}) ${i.processState ?? 'no VM'}`).join('; ')}`,
  );
  if (obs.members)
    out.push(
      `Members: ${obs.members.map((m) => `${m.id} ${m.name || '(unstarted)'}${m.isLearner ? ' learner' : ''} ${m.peerURLs.join(',')}`).join('; ')}`,
    );
  for (const v of obs.views) {
    const st = v.status?.ok
      ? `leader ${v.status.value.leader}, term ${v.status.value.raftTerm}, index ${v.status.value.raftIndex}, db ${v.status.value.dbSize} B`
      : (v.status?.error ?? 'no status');
    out.push(`${v.label} ${v.endpointUrl}: ${v.healthy ? 'healthy' : 'UNHEALTHY'} (${st})`);
  }
  if (obs.alarms)
    out.push(`Alarms: ${obs.alarms.length ? obs.alarms.map((a) => `${a.alarm}@${a.memberId}`).join(', ') : 'none'}`);
  const vm = obs.targetVm;
  if (vm) {
    out.push(
      vm.reachable
        ? `Target VM: monit etcd '${vm.monitText}', data dir ${vm.dataEntries === null ? 'missing' : `[${vm.dataEntries.join(', ')}]`}, member/ ${vm.memberDir.exists ? `${vm.memberDir.owner} [${vm.memberDir.entries.join(', ')}]` : 'missing'}, ${vm.freeKb ?? '?'} KiB free, peer address ${vm.peerAddress ?? '?'}${vm.state ? `, recovery in progress since ${vm.state.ts}` : ''}`
        : `Target VM: ${vm.error}`,
    );
  }
  if (obs.helper) out.push(`Snapshot member ${obs.helper.label}: ${obs.helper.vm.freeKb ?? '?'} KiB free`);
  for (const e of obs.errors) out.push(`Problem: ${e}`);
  return out;
}

class Run {
  readonly stepsRun: StepId[] = [];
  private hosts = new Map<string, RemoteHost>();
  snapshotLocal?: string;
  newMemberId?: string;
  private step: StepId = 'preflight';
  private readonly t: Required<NonNullable<RecoveryOptions['timeouts']>>;

  constructor(
    readonly session: DeploymentSession,
    readonly obs: Observation,
    readonly plan: Plan,
    readonly cluster: EtcdCluster,
    readonly opts: RecoveryOptions,
    readonly emit: (e: RecoveryEvent) => void,
  ) {
    const to = opts.timeouts ?? {};
    this.t = {
      stopMs: to.stopMs ?? 60_000,
      startMs: to.startMs ?? 180_000,
      promoteMs: to.promoteMs ?? 120_000,
      postcheckMs: to.postcheckMs ?? 120_000,
      commandMs: to.commandMs ?? 120_000,
    };
  }

  private time() {
    return new Date().toISOString();
  }

  checkAbort(): void {
    if (this.opts.signal?.aborted) throw new CancelledError();
  }

  private instance(label: string): InstanceInfo {
    const i = this.obs.instances.find((x) => `${x.group}/${x.id}` === label);
    if (!i) throw new StepError(`instance ${label} is not in the deployment any more`, RESUME_ADVICE);
    return i;
  }

  async host(label: string): Promise<RemoteHost> {
    let h = this.hosts.get(label);
    if (!h) {
      try {
        h = await this.session.ssh(this.instance(label));
      } catch (e) {
        throw new StepError(
          `could not connect to ${label} over SSH: ${(e as Error).message}`,
          `Check SSH access to ${label} (bosh -d ${this.plan.deployment} ssh ${label}), then ${RESUME_ADVICE.toLowerCase()}`,
        );
      }
      this.hosts.set(label, h);
    }
    return h;
  }

  check(name: string, ok: boolean, detail: string): void {
    this.emit({ type: 'check', time: this.time(), step: this.step, name, ok, detail });
    if (!ok) throw new StepError(`check failed: ${name}: ${detail}`, RESUME_ADVICE);
  }

  info(message: string): void {
    this.emit({ type: 'info', time: this.time(), step: this.step, message });
  }

  /** Runs one visible command (sudo) on a VM, streaming its output. Non-zero exit throws unless allowFail. */
  async exec(
    pc: Pick<PlannedCommand, 'host' | 'command' | 'purpose' | 'mutates'>,
    o: { allowFail?: boolean; timeoutMs?: number } = {},
  ): Promise<ExecResult> {
    this.checkAbort();
    if (this.opts.dryRun && pc.mutates) throw new Error(`BUG: dry-run tried to run a changing command: ${pc.command}`);
    const host = await this.host(pc.host);
    this.checkAbort();
    this.emit({
      type: 'command',
      time: this.time(),
      step: this.step,
      host: pc.host,
      command: pc.command,
      purpose: pc.purpose,
      mutates: pc.mutates,
    });
    let r: ExecResult;
    const started = Date.now();
    try {
      r = await host.exec(pc.command, {
        sudo: true,
        timeoutMs: o.timeoutMs ?? this.t.commandMs,
        onStdout: (text) =>
          this.emit({ type: 'output', time: this.time(), step: this.step, host: pc.host, stream: 'stdout', text }),
        onStderr: (text) =>
          this.emit({ type: 'output', time: this.time(), step: this.step, host: pc.host, stream: 'stderr', text }),
      });
    } catch (e) {
      this.emit({
        type: 'command-done',
        time: this.time(),
        step: this.step,
        host: pc.host,
        command: pc.command,
        exitCode: null,
        signal: null,
        durationMs: Date.now() - started,
      });
      if (o.allowFail)
        return { code: null, signal: null, stdout: '', stderr: (e as Error).message, durationMs: Date.now() - started };
      throw new StepError(
        `\`${pc.command}\` on ${pc.host} failed: ${(e as Error).message}`,
        `Check the SSH connection to ${pc.host}; ${RESUME_ADVICE.toLowerCase()}`,
      );
    }
    this.emit({
      type: 'command-done',
      time: this.time(),
      step: this.step,
      host: pc.host,
      command: pc.command,
      exitCode: r.code,
      signal: r.signal,
      durationMs: r.durationMs,
    });
    if (r.code !== 0 && !o.allowFail) {
      throw new StepError(
        `\`${pc.command}\` on ${pc.host} exited with ${r.code ?? `signal ${r.signal}`}: ${r.stderr.trim() || r.stdout.trim() || '(no output)'}`,
        RESUME_ADVICE,
      );
    }
    return r;
  }

  /** Read-only probe of a VM (not shown as a command: it is a poll). */
  async probe(label: string): Promise<VmProbe> {
    this.checkAbort();
    const h = await this.host(label);
    const r = await h.exec(cmd.probeVm().command, { sudo: true, timeoutMs: 30_000 });
    if (r.code !== 0)
      throw new StepError(`inspecting ${label} failed (exit ${r.code ?? r.signal}): ${r.stderr.trim()}`, RESUME_ADVICE);
    return parseProbe(label, r.stdout);
  }

  /** Polls `f` until it returns a value (not undefined) or the deadline passes. */
  async until<T>(what: string, ms: number, f: () => Promise<T | undefined>, interval = 400): Promise<T> {
    const deadline = Date.now() + ms;
    let last = '';
    for (;;) {
      this.checkAbort();
      try {
        const v = await f();
        if (v !== undefined) return v;
      } catch (e) {
        if (e instanceof CancelledError || e instanceof StepError) throw e;
        last = (e as Error).message;
      }
      if (Date.now() > deadline)
        throw new StepError(
          `timed out after ${Math.round(ms / 1000)} s waiting until ${what}${last ? ` (last error: ${last})` : ''}`,
          RESUME_ADVICE,
        );
      await sleep(interval, this.opts.signal);
    }
  }

  targetUrl(): string {
    const v = this.obs.views.find((x) => x.instance.id === this.plan.targetId);
    return v?.endpointUrl ?? cmd.expectedClientUrl(this.plan.targetIndex ?? 0);
  }

  otherUrls(): string[] {
    return this.obs.views.filter((x) => x.instance.id !== this.plan.targetId).map((v) => v.endpointUrl);
  }

  /** Reliability 3: after every step the other members must still have quorum. */
  async assertQuorum(): Promise<void> {
    const others = new Set(this.otherUrls());
    const health = await this.cluster.health();
    const ok = health.filter((h) => others.has(h.endpoint) && h.ok && h.value.healthy).length;
    const need = quorumOf(this.plan.clusterSize);
    const detail = `${ok} of the other ${others.size} members healthy (quorum ${need})`;
    if (ok < need) {
      this.emit({
        type: 'check',
        time: this.time(),
        step: this.step,
        name: 'cluster still has quorum',
        ok: false,
        detail,
      });
      throw new StepError(
        `the cluster became unhealthy after this step: ${detail}; stopped, nothing further is changed`,
        'Bring the other members back first (etcdctl endpoint health --cluster), then run the recovery again to continue.',
      );
    }
  }

  /** Member list from one of the other (majority) members: never from the target, which may have split off. */
  async members(): Promise<EtcdMember[]> {
    let last: unknown;
    for (const url of this.otherUrls()) {
      try {
        return await this.cluster.memberList({ endpointUrl: url });
      } catch (e) {
        last = e;
      }
    }
    throw last instanceof Error ? last : new Error('no member answered the member list');
  }

  setStep(s: StepId) {
    this.step = s;
  }
}

const LOCAL_MEMBER_ADDED = /Member\s+([0-9a-f]+)\s+added to cluster/;
/** etcd's strict reconfiguration check said no (members not connected long enough): nothing was applied. */
const RECONFIG_REJECTED =
  /unhealthy cluster|not enough started members|re-configuration failed due to not enough started members/i;
/** How long a membership change explicitly rejected by etcd (and verified not applied) is tried again. */
const RECONFIG_RETRY_MS = 45_000;

async function stepPreflight(r: Run, s: PlanStep): Promise<void> {
  for (const c of s.commands) await r.exec(c, { allowFail: true, timeoutMs: 30_000 });
  const o = r.obs;
  const others = o.views.filter((v) => v.instance.id !== r.plan.targetId);
  const healthy = others.filter((v) => v.healthy);
  const leader = healthy.map((v) => (v.status?.ok ? v.status.value.leader : '')).find((x) => x);
  r.check(
    'quorum and leader without the target',
    true,
    `${healthy.length} of ${others.length} other members healthy (quorum ${r.plan.quorum}), leader ${leader}`,
  );
  r.check('target is the broken member', true, r.plan.evidence.join('; ') || 'resuming');
  r.check(
    'identity',
    true,
    `member name = ${r.plan.targetId}, peer URL ${r.plan.peerUrl}${r.plan.targetBootstrap ? ' (bootstrap instance: member/ is recreated before start)' : ''}`,
  );
  r.check(
    'alarms',
    true,
    (o.alarms ?? []).length ? `only on the dead member: ${(o.alarms ?? []).map((a) => a.alarm).join(', ')}` : 'none',
  );
  r.check(
    'disk space',
    true,
    `target ${o.targetVm?.freeKb ?? '?'} KiB free, snapshot member ${o.helper?.vm.freeKb ?? '?'} KiB free`,
  );
}

async function stepSnapshot(r: Run, s: PlanStep): Promise<void> {
  const [save, status] = s.commands;
  await r.exec(save, { timeoutMs: 600_000 });
  const st = await r.exec(status, { timeoutMs: 120_000 });
  const row = st.stdout.split('\n').find((l) => /^\|\s*[0-9a-f]+\s*\|\s*\d+\s*\|\s*\d+\s*\|/.test(l));
  r.check(
    'snapshot readable',
    !!row,
    row
      ? `${r.plan.snapshotPath} on ${r.plan.snapshotHost}: ${row.trim()}`
      : `snapshot status printed no hash/revision row: ${st.stdout.trim()}`,
  );
  if (r.opts.downloadSnapshotTo) {
    const h = await r.host(save.host);
    const buf = await h.readFile(r.plan.snapshotPath, { sudo: true });
    fs.mkdirSync(r.opts.downloadSnapshotTo, { recursive: true, mode: 0o700 });
    const local = path.join(
      r.opts.downloadSnapshotTo,
      `${r.plan.deployment.replace(/[^A-Za-z0-9_.-]/g, '_')}-${r.plan.targetId}-${r.plan.ts}.db`,
    );
    fs.writeFileSync(local, buf, { mode: 0o600 });
    r.snapshotLocal = local;
    r.check('snapshot downloaded', buf.length > 0, `${buf.length} bytes to ${local}`);
  }
}

async function stepStop(r: Run, s: PlanStep): Promise<void> {
  const [state, stop, move] = s.commands;
  if (!state.done) await r.exec(state);
  if (!stop.done) {
    await r.exec(stop);
    const stopped = await r.until(
      'monit reports etcd not monitored and the process is gone',
      r.opts.timeouts?.stopMs ?? 60_000,
      async () => {
        const p = await r.probe(r.plan.target);
        return p.monitEtcd === 'not-monitored' && !p.etcdAlive ? p : undefined;
      },
    );
    r.check('etcd stopped', true, `monit: etcd ${stopped.monitText}`);
  }
  if (!move.done) await r.exec(move);
  const p = await r.probe(r.plan.target);
  const empty =
    p.dataEntries === null ||
    p.dataEntries.length === 0 ||
    (p.dataEntries.length === 1 && p.dataEntries[0] === 'member' && p.memberDir.entries.length === 0);
  r.check(
    'data moved aside',
    empty,
    empty
      ? `${cmd.DATA_DIR} is empty; old data in ${r.plan.backupDir}`
      : `${cmd.DATA_DIR} still holds: ${p.dataEntries!.join(', ')}`,
  );
}

async function stepRemove(r: Run, s: PlanStep): Promise<void> {
  const [remove] = s.commands;
  const id = r.plan.staleMemberId!;
  // Reliability 6: never retried blindly; whatever the command said, the member list decides. Only an
  // explicit rejection by etcd's reconfiguration check, with the member verified still present, is tried again.
  const deadline = Date.now() + RECONFIG_RETRY_MS;
  let res: ExecResult;
  let members: EtcdMember[];
  let still: boolean;
  for (;;) {
    res = await r.exec(remove, { allowFail: true });
    members = await r.until('the member list can be read', 30_000, async () => r.members());
    still = members.some((m) => m.id === id);
    if (!still || res.code === 0 || !RECONFIG_REJECTED.test(res.stderr) || Date.now() > deadline) break;
    r.info(
      `etcd rejected the removal for now (${res.stderr.trim().split('\n').pop()}); member ${id} is still registered: trying again`,
    );
    await sleep(2000, r.opts.signal);
  }
  if (res.code !== 0 && !still)
    r.info(
      `member remove reported ${res.code === null ? 'a dropped connection or timeout' : `exit ${res.code}`}, but member ${id} is gone: the removal succeeded.`,
    );
  if (still && res.code !== 0) {
    r.check(
      'dead member removed',
      false,
      `member ${id} is still registered; \`${remove.command}\` failed with ${res.code ?? 'no exit code'}: ${res.stderr.trim()}`,
    );
  }
  r.check(
    'dead member removed',
    !still,
    still
      ? `member ${id} is still registered`
      : `member list: ${members.map((m) => `${m.id} ${m.name || '(unstarted)'}`).join(', ')}`,
  );
}

async function stepMkdir(r: Run, s: PlanStep): Promise<void> {
  await r.exec(s.commands[0]);
  const p = await r.probe(r.plan.target);
  const ok = p.memberDir.exists && (p.memberDir.owner ?? '').startsWith('vcap:') && p.memberDir.entries.length === 0;
  r.check(
    'empty member/ owned by vcap',
    ok,
    p.memberDir.exists
      ? `${cmd.MEMBER_DIR} ${p.memberDir.owner} [${p.memberDir.entries.join(', ')}]`
      : `${cmd.MEMBER_DIR} is missing`,
  );
}

function findAdded(members: EtcdMember[], plan: Plan): EtcdMember | undefined {
  return members.find((m) => m.peerURLs.includes(plan.peerUrl) && m.id !== plan.staleMemberId);
}

async function stepAdd(r: Run, s: PlanStep): Promise<void> {
  // Reliability 7/9: look again right before adding: the start script may have self-added meanwhile.
  const before = findAdded(await r.members(), r.plan);
  if (before) {
    r.emit({
      type: 'command',
      time: new Date().toISOString(),
      step: 'add',
      host: s.commands[0].host,
      command: s.commands[0].command,
      purpose: s.commands[0].purpose,
      mutates: true,
      skipped: `member ${before.id} is already registered with ${r.plan.peerUrl}`,
    });
    r.newMemberId = before.id;
  } else {
    const deadline = Date.now() + RECONFIG_RETRY_MS;
    let res: ExecResult;
    let m: EtcdMember | undefined;
    for (;;) {
      res = await r.exec(s.commands[0], { allowFail: true });
      const listed = await r.until('the member list can be read', 30_000, async () => r.members());
      m = findAdded(listed, r.plan);
      // only an explicit rejection by etcd's reconfiguration check, verified not applied, is tried again
      if (m || res.code === 0 || !RECONFIG_REJECTED.test(res.stderr) || Date.now() > deadline) break;
      r.info(
        `etcd rejected the member add for now (${res.stderr.trim().split('\n').pop()}); no member was added: trying again`,
      );
      await sleep(2000, r.opts.signal);
    }
    const said = LOCAL_MEMBER_ADDED.exec(res.stdout)?.[1];
    if (!m) {
      r.check(
        'member added',
        false,
        `no member with ${r.plan.peerUrl} after \`member add\` (exit ${res.code ?? 'none'}): ${res.stderr.trim() || res.stdout.trim()}`,
      );
      return;
    }
    if (res.code !== 0)
      r.info(
        `member add reported ${res.code === null ? 'a dropped connection or timeout' : `exit ${res.code}`} (${res.stderr.trim()}), but member ${m.id} is registered with ${r.plan.peerUrl}: recognised as done.`,
      );
    if (said && said !== m.id) r.info(`member add printed id ${said}; the member list has ${m.id}.`);
    r.newMemberId = m.id;
  }
  const members = await r.members();
  const m = members.find((x) => x.id === r.newMemberId)!;
  r.check(
    'member added',
    !!m,
    `member ${m?.id} ${m?.name || '(unstarted)'} ${m?.peerURLs.join(',')}${m?.isLearner ? ' learner' : ''}`,
  );
  if (r.plan.learner)
    r.check('added as a learner', m.isLearner || m.name !== '', m.isLearner ? 'learner' : 'already promoted');
}

async function statusOf(r: Run, url: string): Promise<EndpointStatus | undefined> {
  const st = await r.cluster.status();
  const x = st.find((e) => e.endpoint === url);
  return x && x.ok ? x.value : undefined;
}

async function leaderUrl(r: Run): Promise<{ url: string; status: EndpointStatus }> {
  const st = await r.cluster.status();
  const members = await r.members();
  for (const e of st) {
    if (!e.ok) continue;
    const leaderId = e.value.leader;
    const lm = members.find((m) => m.id === leaderId);
    const v = r.obs.views.find((x) => lm && x.instance.id === lm.name);
    if (v) {
      const ls = st.find((y) => y.endpoint === v.endpointUrl);
      if (ls && ls.ok) return { url: v.endpointUrl, status: ls.value };
    }
  }
  throw new Error('no leader found');
}

async function stepStart(r: Run, s: PlanStep): Promise<void> {
  const [start, promote] = s.commands;
  const T = r.opts.timeouts ?? {};
  const startMs = T.startMs ?? 180_000;
  if (!start.done) await r.exec(start);
  const p = await r.until('monit reports etcd running', startMs, async () => {
    const x = await r.probe(r.plan.target);
    return x.monitEtcd === 'running' && x.etcdAlive ? x : undefined;
  });
  r.check('monit reports etcd running', true, `monit: etcd ${p.monitText}`);
  const url = r.targetUrl();
  const id = r.newMemberId ?? r.plan.newMemberId ?? findAdded(await r.members(), r.plan)?.id;
  if (!id) throw new StepError(`no member is registered for ${r.plan.target} with ${r.plan.peerUrl}`, RESUME_ADVICE);
  r.newMemberId = id;
  const m = await r.until(`member ${id} has started with its name`, startMs, async () => {
    const ms = await r.members();
    const x = ms.find((y) => y.id === id);
    if (!x) throw new StepError(`member ${id} disappeared from the member list`, RESUME_ADVICE);
    return x.name === r.plan.targetId ? x : undefined;
  });
  r.check('member started with its name', true, `${m.id} ${m.name}${m.isLearner ? ' (learner)' : ''}`);
  const waitHealthy = async () => {
    await r.until(`${url} is healthy`, startMs, async () => {
      const h = (await r.cluster.health()).find((e) => e.endpoint === url);
      return h && h.ok && h.value.healthy ? true : undefined;
    });
    r.check('endpoint healthy', true, url);
  };
  // A learner does not serve the linearizable read behind `endpoint health`: it is checked by its status, promoted, then checked for health.
  if (!m.isLearner) await waitHealthy();

  if (m.isLearner) {
    const lead = await r.until('a leader answers', startMs, async () => leaderUrl(r));
    const st = await r.until(`learner ${url} answers its status and catches up`, startMs, async () => {
      const x = await statusOf(r, url);
      return x && cmpBig(x.raftIndex, lead.status.raftIndex) >= 0 ? x : undefined;
    });
    r.check('learner in sync', true, `${url} at raft index ${st.raftIndex}, leader was at ${lead.status.raftIndex}`);
    if (!promote) throw new StepError(`member ${id} is a learner but the plan has no promotion`, RESUME_ADVICE);
    const pc = { ...promote, command: cmd.memberPromote(id).command };
    // Reliability 10: promotion before catch-up is refused by etcd; retried until in sync or the deadline.
    await r.until(
      `learner ${id} is promoted`,
      T.promoteMs ?? 120_000,
      async () => {
        const ms = await r.members();
        const x = ms.find((y) => y.id === id);
        if (x && !x.isLearner) return true;
        const res = await r.exec(pc, { allowFail: true });
        if (res.code === 0) return true;
        r.info(`promotion not accepted yet (${res.stderr.trim() || `exit ${res.code}`}); retrying`);
        return undefined;
      },
      1000,
    );
  }
  const voter = (await r.members()).find((y) => y.id === id);
  r.check(
    'not a learner',
    !!voter && !voter.isLearner,
    voter ? (voter.isLearner ? 'still a learner' : 'voting member') : 'member missing',
  );
  if (m.isLearner) await waitHealthy();

  const leader = await r.until('a leader answers', startMs, async () => leaderUrl(r));
  const target = leader.status.raftIndex;
  const caught = await r.until(`raft index of ${url} reaches ${target}`, startMs, async () => {
    const st = await statusOf(r, url);
    return st && cmpBig(st.raftIndex, target) >= 0 ? st : undefined;
  });
  r.check('raft index caught up', true, `${url} at ${caught.raftIndex}, leader was at ${target}`);

  const eq = await r.until(
    "hashKV of the new member equals the leader's",
    startMs,
    async () => {
      const { url: lu } = await leaderUrl(r);
      const rev = (await r.cluster.hashKV(lu)).revision;
      const [a, b] = await Promise.all([r.cluster.hashKV(lu, rev), r.cluster.hashKV(url, rev)]);
      if (a.hash === b.hash && a.compactRevision === b.compactRevision) return { rev, hash: a.hash, lu };
      return undefined;
    },
    500,
  );
  r.check(
    "hashKV equal to the leader's",
    true,
    `revision ${eq.rev}: hash ${eq.hash} on ${url} and on the leader ${eq.lu}`,
  );
}

async function stepPostcheck(r: Run, s: PlanStep): Promise<void> {
  const T = r.opts.timeouts ?? {};
  const ms = T.postcheckMs ?? 120_000;
  const ids = new Set(r.obs.instances.map((i) => i.id));
  const health = await r.until('every member is healthy', ms, async () => {
    const h = await r.cluster.health();
    return h.length > 0 && h.every((e) => e.ok && e.value.healthy) ? h : undefined;
  });
  r.check('all members healthy', true, health.map((h) => h.endpoint).join(', '));
  const members = await r.members();
  const names = members.map((m) => m.name);
  const ok =
    members.length === ids.size &&
    names.every((n) => ids.has(n)) &&
    new Set(names).size === names.length &&
    members.every((m) => !m.isLearner);
  r.check(
    'member names = instance UUIDs',
    ok,
    members.map((m) => `${m.id} ${m.name || '(unstarted)'}${m.isLearner ? ' learner' : ''}`).join(', '),
  );
  const inst = await r.until(
    `the Director reports ${r.plan.target} running`,
    ms,
    async () => {
      const all = await r.session.instances();
      const i = all.find((x) => x.id === r.plan.targetId);
      return i && i.processState === 'running' ? i : undefined;
    },
    1000,
  );
  r.check('Director reports the instance running', true, `${r.plan.target}: ${inst.processState}`);
  let alarms = await r.cluster.alarms();
  const live = new Set(members.map((m) => m.id));
  if (alarms.length > 0 && alarms.every((a) => !live.has(a.memberId))) {
    r.info(
      `alarms left from the removed member: ${alarms.map((a) => `${a.alarm}@${a.memberId}`).join(', ')}; disarming`,
    );
    await r.exec({ host: r.plan.target, ...cmd.alarmDisarm() });
    alarms = await r.cluster.alarms();
  }
  r.check(
    'no alarms',
    alarms.length === 0,
    alarms.length ? alarms.map((a) => `${a.alarm} on ${a.memberId}`).join(', ') : 'none',
  );
  await r.exec(s.commands[0]);
}

const STEP_IMPL: Record<StepId, (r: Run, s: PlanStep) => Promise<void>> = {
  preflight: stepPreflight,
  snapshot: stepSnapshot,
  stop: stepStop,
  remove: stepRemove,
  mkdir: stepMkdir,
  add: stepAdd,
  start: stepStart,
  postcheck: stepPostcheck,
};

/** Observe, plan, confirm and run the recovery of one instance's etcd member. Never throws for operational failures: see `outcome`. */
export async function runRecovery(
  session: DeploymentSession,
  target: string,
  opts: RecoveryOptions,
): Promise<RecoveryResult> {
  const started = opts.now ? opts.now() : new Date();
  const transcript = new Transcript(opts.transcriptDir, {
    deployment: session.deployment,
    target,
    dryRun: !!opts.dryRun,
    started,
  });
  const time = () => new Date().toISOString();
  const emit = (e: RecoveryEvent) => {
    transcript.record(e);
    try {
      opts.onEvent?.(e);
    } catch {
      /* a UI callback must not break the run */
    }
  };
  const finish = (res: Omit<RecoveryResult, 'transcriptPath'>): RecoveryResult => {
    const tp = transcript.path;
    emit({ type: 'done', time: time(), outcome: res.outcome, message: res.message, transcriptPath: tp });
    transcript.write();
    return { ...res, transcriptPath: tp };
  };

  try {
    cmd.validateInstanceLabel(target);
  } catch (e) {
    const refusals = [
      {
        code: 'invalid-input' as const,
        message: (e as Error).message,
        advice: 'Give the instance as group/uuid, e.g. master/8d1f…; nothing was sent to the VMs.',
      },
    ];
    emit({ type: 'refused', time: time(), refusals });
    return finish({
      outcome: 'refused',
      message: `Refused: ${(e as Error).message}`,
      refusals,
      advice: refusals[0].advice,
      stepsRun: [],
    });
  }

  let obs: Observation;
  let cluster: EtcdCluster;
  try {
    if (opts.signal?.aborted) throw new CancelledError();
    obs = await observeCluster(session, target);
    cluster = await session.etcd();
  } catch (e) {
    if (e instanceof CancelledError) {
      emit({ type: 'cancelled', time: time(), message: 'cancelled before anything was changed' });
      return finish({ outcome: 'cancelled', message: 'Cancelled before anything was changed.', stepsRun: [] });
    }
    const msg = `Could not observe the cluster: ${(e as Error).message}`;
    return finish({
      outcome: 'failed',
      message: msg,
      error: msg,
      advice: 'Check the Director and SSH/etcd access, then run again; nothing was changed.',
      stepsRun: [],
    });
  }
  emit({ type: 'observed', time: time(), summary: summarize(obs) });
  const plan = planRecovery(obs, { learner: opts.learner, now: started });
  emit({ type: 'plan', time: time(), plan });

  if (plan.refusals.length > 0) {
    emit({ type: 'refused', time: time(), refusals: plan.refusals });
    return finish({
      outcome: 'refused',
      message: `Refused: ${plan.refusals.map((r) => r.message).join(' ')}`,
      refusals: plan.refusals,
      advice: plan.refusals.map((r) => r.advice).join(' '),
      plan,
      stepsRun: [],
    });
  }
  if (opts.dryRun) {
    return finish({
      outcome: 'dry-run',
      message: `Dry-run: ${plan.steps.filter((s) => !s.done).length} of ${plan.steps.length} steps would run; nothing was changed.\n${formatPlan(plan)}`,
      plan,
      stepsRun: [],
    });
  }
  if (opts.signal?.aborted) {
    emit({ type: 'cancelled', time: time(), message: 'cancelled before anything was changed' });
    return finish({ outcome: 'cancelled', message: 'Cancelled before anything was changed.', plan, stepsRun: [] });
  }
  let go = false;
  if (opts.confirm) {
    try {
      go = await opts.confirm(plan);
    } catch {
      go = false;
    }
  } else go = opts.yes === true;
  if (!go || opts.signal?.aborted) {
    const msg = opts.confirm
      ? 'Not confirmed: nothing was changed.'
      : 'Not confirmed (non-interactive run without --yes): nothing was changed.';
    emit({ type: 'cancelled', time: time(), message: msg });
    return finish({ outcome: 'declined', message: msg, plan, stepsRun: [] });
  }

  const run = new Run(session, obs, plan, cluster, opts, emit);
  for (const s of plan.steps) {
    run.setStep(s.id);
    const total = plan.steps.length;
    try {
      run.checkAbort();
      emit({
        type: 'step-start',
        time: time(),
        step: s.id,
        number: s.number,
        total,
        title: s.title,
        alreadyDone: s.done,
      });
      for (const c of s.commands)
        if (c.done)
          emit({
            type: 'command',
            time: time(),
            step: s.id,
            host: c.host,
            command: c.command,
            purpose: c.purpose,
            mutates: c.mutates,
            skipped: c.doneReason ?? 'already done',
          });
      if (s.done && s.id !== 'start') {
        emit({
          type: 'step-done',
          time: time(),
          step: s.id,
          number: s.number,
          skipped: true,
          detail: s.commands
            .map((c) => c.doneReason)
            .filter(Boolean)
            .join('; '),
        });
        continue;
      }
      await STEP_IMPL[s.id](run, s);
      run.stepsRun.push(s.id);
      if (s.id !== 'preflight' && s.id !== 'postcheck') await run.assertQuorum();
      emit({ type: 'step-done', time: time(), step: s.id, number: s.number, skipped: false });
    } catch (e) {
      if (e instanceof CancelledError) {
        const msg = `Cancelled during step ${s.number} (${s.title}); nothing further was changed. Run the recovery again to continue from here.`;
        emit({ type: 'cancelled', time: time(), step: s.id, message: msg });
        return finish({
          outcome: 'cancelled',
          message: msg,
          plan,
          failedStep: s.id,
          stepsRun: run.stepsRun,
          backupDir: plan.backupDir,
          newMemberId: run.newMemberId,
        });
      }
      const err = e as Error;
      const advice = e instanceof StepError ? e.advice : RESUME_ADVICE;
      emit({ type: 'step-failed', time: time(), step: s.id, number: s.number, error: err.message, advice });
      return finish({
        outcome: 'failed',
        message: `Step ${s.number} (${s.title}) failed: ${err.message}`,
        error: err.message,
        advice,
        plan,
        failedStep: s.id,
        stepsRun: run.stepsRun,
        backupDir: plan.backupDir,
        newMemberId: run.newMemberId,
      });
    }
  }
  const snap = plan.snapshotHost
    ? { host: plan.snapshotHost, path: plan.snapshotPath, localPath: run.snapshotLocal }
    : undefined;
  return finish({
    outcome: 'recovered',
    message: `Recovered ${plan.target}: member ${run.newMemberId} is started, healthy, a voter, caught up and consistent (hashKV); old data kept in ${plan.backupDir}; snapshot ${plan.snapshotPath} on ${plan.snapshotHost}.`,
    plan,
    stepsRun: run.stepsRun,
    snapshot: snap,
    backupDir: plan.backupDir,
    newMemberId: run.newMemberId,
  });
}

export { STEP_ORDER };
