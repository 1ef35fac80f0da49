// What happens to the temporary-user records (tempUsers.ts) when a deployment's session starts.
//
// - Users a killed run left on THIS deployment (no cleanup asked for, their process gone) are
//   cleaned up through the Director, and that is waited for before our first user
//   (cleanupKilledRunUsers).
// - Every deployment of the environment (sweepEnvironment), in the background: a record whose
//   cleanup was asked for is forgotten once the Director shows its tasks done, asked again when a
//   task failed (or is too old to tell), left alone while one runs; users a killed run left on
//   another deployment get their cleanup asked for (its task is checked by a later session). So a
//   deployment that is never opened again does not keep its records. Its cost: one GET /tasks (the
//   tasks that are not done, newest first) whatever the number of records, and one cleanup request
//   per user cleaned again.
// - A record is not cleaned again without end: it is forgotten when the Director says its deployment
//   is gone or its instance has no VM any more (a VM's users go with it), and after
//   MAX_FAILED_CLEANUPS cleanups that did not succeed (logged with the command that removes the user
//   by hand).
// Plain Node, no `vscode`.
import { BoshError, type DirectorClient } from '../bosh/types';
import type { TempUserRecord, TempUserRegistry } from './tempUsers';

/** How many tasks that are not done the one listing returns at most. */
export const SWEEP_TASK_LIMIT = 500;
const RUNNING_STATES = ['queued', 'processing', 'cancelling'];
const FAILED_STATES = ['error', 'timeout', 'cancelled'];
/** Cleanups of one record that may fail before it is forgotten. */
export const MAX_FAILED_CLEANUPS = 3;
/** The Director's error when no instance of an ssh target has a VM (its ssh job). */
const NO_VM = /No instance with a VM in deployment/;

export type RecordVerdict = 'done' | 'running' | 'clean-again';

/**
 * The fate of one record from the listing of the tasks not done: a task absent from it is done,
 * unless it is older than the oldest one listed when the listing was cut at its limit (unknown).
 */
export function recordVerdict(
  taskIds: number[],
  notDone: ReadonlyMap<number, string>,
  unknownBelow: number,
): RecordVerdict {
  const states = taskIds.map((id) => notDone.get(id) ?? (id < unknownBelow ? 'unknown' : 'done'));
  if (states.some((st) => RUNNING_STATES.includes(st))) return 'running';
  return states.every((st) => st === 'done') ? 'done' : 'clean-again';
}

interface SweepContext {
  registry: TempUserRegistry;
  director: DirectorClient;
  log: (line: string) => void;
}

const isDeploymentGone = (e: unknown) => e instanceof BoshError && e.kind === 'not-found' && e.code === 70000;

/** The Director says the user's instance has no VM any more: its users went with it. */
function forgetNoVm(ctx: SweepContext, r: TempUserRecord): void {
  ctx.log(`ssh: ${r.deployment}/${r.group}/${r.instanceId} has no VM any more (nor its users): forgetting ${r.user}`);
  ctx.registry.forget(r.user);
}

/** Counts a cleanup of `r` that did not succeed; forgets the record after MAX_FAILED_CLEANUPS. True when forgotten. */
function countFailedCleanup(ctx: SweepContext, r: TempUserRecord, why: string): boolean {
  const n = ctx.registry.cleanupFailed(r.user);
  if (n < MAX_FAILED_CLEANUPS) return false;
  ctx.log(
    `ssh: giving up on temporary user ${r.user} on ${r.deployment}/${r.group}/${r.instanceId} after ${n} cleanups that did not succeed (${why}); ` +
      `if the VM still has it, remove it by hand: bosh -d ${r.deployment} ssh ${r.group}/${r.instanceId} -c 'sudo userdel -r ${r.user}'`,
  );
  ctx.registry.forget(r.user);
  return true;
}

/**
 * Asks the Director to clean up a recorded user; without waiting for its task when the client can
 * (the record then keeps the task). 'gone': the deployment no longer exists, nor its VMs: forgotten.
 */
async function cleanUp(ctx: SweepContext, r: TempUserRecord, wait: boolean): Promise<'asked' | 'cleaned' | 'gone'> {
  const target = { group: r.group, id: r.instanceId };
  try {
    if (!wait && ctx.director.sshCleanupRequest) {
      const id = await ctx.director.sshCleanupRequest(r.deployment, target, r.user);
      ctx.registry.cleanupRequested(r.user, [id]);
      return 'asked';
    }
    await ctx.director.sshCleanup(r.deployment, target, r.user);
  } catch (e) {
    if (isDeploymentGone(e)) {
      ctx.log(`ssh: deployment ${r.deployment} no longer exists (nor its VMs): forgetting ${r.user}`);
      ctx.registry.forget(r.user);
    } else if (NO_VM.test((e as Error).message)) forgetNoVm(ctx, r);
    else throw e;
    return 'gone';
  }
  ctx.registry.forget(r.user);
  return 'cleaned';
}

/** Users a killed run left on `deployment`: cleaned up, waited for; returns the users removed. */
export async function cleanupKilledRunUsers(ctx: SweepContext, deployment: string): Promise<string[]> {
  const removed: string[] = [];
  const killed = ctx.registry
    .environmentLeftovers(ctx.director.env.url)
    .filter((r) => r.deployment === deployment && !r.cleanupTasks?.length);
  await Promise.all(
    killed.map(async (r) => {
      ctx.log(
        `ssh: removing temporary user ${r.user} left on ${r.group}/${r.instanceId} by process ${r.pid} (${r.created})`,
      );
      try {
        await cleanUp(ctx, r, true);
        removed.push(r.user);
      } catch (e) {
        ctx.log(`ssh: could not remove the leftover temporary user ${r.user}: ${(e as Error).message}`);
        if (e instanceof BoshError && e.kind === 'task') countFailedCleanup(ctx, r, (e as Error).message);
      }
    }),
  );
  return removed;
}

/** True when `deployment` has users a killed run left (cleanupKilledRunUsers has work to wait for). */
export function hasKilledRunUsers(registry: TempUserRegistry, environment: string, deployment: string): boolean {
  return registry.environmentLeftovers(environment).some((r) => r.deployment === deployment && !r.cleanupTasks?.length);
}

export interface SweepResult {
  /** Forgotten: their cleanup tasks are done (or their deployment is gone). */
  forgotten: string[];
  /** Their cleanup asked for (again; or done and waited for, with a Director client that cannot ask only). */
  cleaning: string[];
  /** Left as they are: a cleanup task still runs, or the Director could not be asked. */
  kept: string[];
}

/**
 * The records of every deployment of the environment except the killed-run users of
 * `exceptDeployment` (cleanupKilledRunUsers' part): see the top of this file.
 */
export async function sweepEnvironment(ctx: SweepContext, exceptDeployment: string): Promise<SweepResult> {
  const out: SweepResult = { forgotten: [], cleaning: [], kept: [] };
  const records = ctx.registry
    .environmentLeftovers(ctx.director.env.url)
    .filter((r) => r.cleanupTasks?.length || r.deployment !== exceptDeployment);
  if (!records.length) return out;
  const asked = records.filter((r) => r.cleanupTasks?.length);
  let notDone: Map<number, string> | undefined;
  /** Failed tasks whose error says that the instance has no VM. */
  const noVm = new Set<number>();
  let unknownBelow = 0;
  if (asked.length && ctx.director.tasks) {
    try {
      const list = await ctx.director.tasks({
        states: [...RUNNING_STATES, ...FAILED_STATES],
        limit: SWEEP_TASK_LIMIT,
      });
      notDone = new Map(list.map((t) => [Number(t.id), String(t.state)]));
      for (const t of list) if (t.state === 'error' && NO_VM.test(String(t.result ?? ''))) noVm.add(Number(t.id));
      if (list.length >= SWEEP_TASK_LIMIT) unknownBelow = Math.min(...list.map((t) => Number(t.id)));
    } catch (e) {
      ctx.log(`ssh: cannot list the Director's tasks to check earlier cleanups: ${(e as Error).message}`);
    }
  }
  await Promise.all(
    records.map(async (r) => {
      let why: string;
      if (r.cleanupTasks?.length) {
        if (!notDone) return void out.kept.push(r.user);
        const verdict = recordVerdict(r.cleanupTasks, notDone, unknownBelow);
        if (verdict === 'running') return void out.kept.push(r.user);
        if (verdict === 'done') {
          ctx.registry.forget(r.user);
          return void out.forgotten.push(r.user);
        }
        if (r.cleanupTasks.some((id) => noVm.has(id))) {
          forgetNoVm(ctx, r);
          return void out.forgotten.push(r.user);
        }
        why = `the cleanup of ${r.user} (task ${r.cleanupTasks.join(', ')}) did not succeed`;
        if (countFailedCleanup(ctx, r, why)) return void out.forgotten.push(r.user);
      } else why = `temporary user ${r.user} was left by process ${r.pid} (${r.created})`;
      try {
        ctx.log(`ssh: ${why}: asking the Director to clean up ${r.deployment}/${r.group}/${r.instanceId}`);
        const how = await cleanUp(ctx, r, false);
        (how === 'asked' ? out.cleaning : out.forgotten).push(r.user);
      } catch (e) {
        ctx.log(`ssh: could not ask for the cleanup of ${r.user}: ${(e as Error).message}`);
        out.kept.push(r.user);
      }
    }),
  );
  return out;
}

/** The sweep in flight per registry (one environment session): sessions starting meanwhile share it. */
const inFlight = new WeakMap<TempUserRegistry, Promise<SweepResult>>();

/** sweepEnvironment, shared by the deployment sessions of one environment that start while it runs. */
export function sweepEnvironmentOnce(ctx: SweepContext, exceptDeployment: string): Promise<SweepResult> {
  let p = inFlight.get(ctx.registry);
  if (!p) {
    p = sweepEnvironment(ctx, exceptDeployment);
    inFlight.set(ctx.registry, p);
    const done = () => {
      if (inFlight.get(ctx.registry) === p) inFlight.delete(ctx.registry);
    };
    p.then(done, done);
  }
  return p;
}
