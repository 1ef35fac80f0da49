// Director tasks for the stand-in (DIR api/task_manager.rb task_to_hash, tasks_controller.rb).
//
// The work starts at once (so a client that never polls, like the CLI's ssh cleanup, still gets it
// done), but the state a client sees is held back for the first polls of GET /tasks/<id>:
// `queued`, then `processing`, then the real state. That exercises the client's polling loop the
// way a busy real Director does. A listing (GET /tasks) shows the real state: a task nobody polls
// (a cleanup asked for without waiting) is seen done there once its work is.

export type TaskState = 'queued' | 'processing' | 'cancelling' | 'done' | 'error' | 'cancelled' | 'timeout';

export interface Task {
  id: number;
  type: string;
  description: string;
  deployment: string;
  user: string;
  contextId: string;
  state: TaskState;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  /** task hash `result` (truncated job return value, '' for vms/ssh). */
  result: string;
  eventOutput: string;
  resultOutput: string;
  polls: number;
  cancelRequested: boolean;
}

/** Types shown by GET /tasks with verbose=1 (DIR tasks_controller.rb, the "interesting" types). */
const VERBOSE1_TYPES = new Set([
  'attach_disk',
  'create_snapshot',
  'delete_artifacts',
  'delete_deployment',
  'delete_release',
  'delete_snapshot',
  'delete_stemcell',
  'export_release',
  'fetch_logs',
  'orphan_disk',
  'run_errand',
  'snapshot_deployment',
  'update_deployment',
  'update_release',
  'update_stemcell',
  'cck_scan_and_fix',
  'cck_apply',
  'scan_and_fix',
]);

export class TaskStore {
  private readonly tasks = new Map<number, Task>();
  private nextId = 1;

  constructor(
    private readonly pollsBeforeDone: number,
    private readonly maxTasks = 1000,
  ) {}

  create(
    t: { type: string; description: string; deployment: string; user: string; contextId: string },
    work: (task: Task) => Promise<void>,
  ): Task {
    const task: Task = {
      ...t,
      id: this.nextId++,
      state: 'queued',
      createdAt: Math.floor(Date.now() / 1000),
      startedAt: null,
      finishedAt: null,
      result: '',
      eventOutput: '',
      resultOutput: '',
      polls: 0,
      cancelRequested: false,
    };
    this.tasks.set(task.id, task);
    while (this.tasks.size > this.maxTasks) this.tasks.delete(this.tasks.keys().next().value as number);
    setImmediate(() => {
      task.state = 'processing';
      task.startedAt = Math.floor(Date.now() / 1000);
      work(task).then(
        () => {
          task.state = task.cancelRequested ? 'cancelled' : 'done';
          task.finishedAt = Math.floor(Date.now() / 1000);
        },
        (e: unknown) => {
          const message = e instanceof Error ? e.message : String(e);
          const code = (e as { code?: unknown })?.code;
          // DIR event_log.rb log_error: {"time":…,"error":{"code":…,"message":"…"}}
          task.eventOutput +=
            JSON.stringify({
              time: Math.floor(Date.now() / 1000),
              error: { code: typeof code === 'number' ? code : 100, message },
            }) + '\n';
          task.result = message.slice(0, 128);
          task.state = 'error';
          task.finishedAt = Math.floor(Date.now() / 1000);
        },
      );
    });
    return task;
  }

  get(id: number): Task | undefined {
    return this.tasks.get(id);
  }

  /** The state a poller sees: held back for the first polls (see file comment). */
  visibleState(t: Task): TaskState {
    if (t.polls < this.pollsBeforeDone) {
      if (t.polls === 0 && this.pollsBeforeDone > 1) return 'queued';
      if (t.state === 'queued') return 'queued';
      return t.state === 'cancelled' || t.cancelRequested ? 'cancelling' : 'processing';
    }
    return t.state;
  }

  /** task_to_hash. `poll`: a GET /tasks/<id> (counted as a client poll); else a listing (the real state). */
  toHash(t: Task, poll: boolean): Record<string, unknown> {
    const state = poll ? this.visibleState(t) : t.state;
    if (poll) t.polls++;
    const running = state === 'queued' || state === 'processing' || state === 'cancelling';
    return {
      id: t.id,
      state,
      description: t.description,
      timestamp: running ? null : (t.finishedAt ?? t.createdAt),
      started_at: state === 'queued' ? null : t.startedAt,
      result: running ? '' : t.result,
      user: t.user || 'admin',
      deployment: t.deployment,
      context_id: t.contextId,
    };
  }

  list(q: { states?: string[]; deployment?: string; verbose: number; limit?: number; contextId?: string }): Task[] {
    let all = [...this.tasks.values()].reverse();
    if (q.verbose < 2) all = all.filter((t) => VERBOSE1_TYPES.has(t.type));
    if (q.states && q.states.length) all = all.filter((t) => q.states!.includes(t.state));
    if (q.deployment) all = all.filter((t) => t.deployment === q.deployment);
    if (q.contextId) all = all.filter((t) => t.contextId === q.contextId);
    if (q.limit !== undefined) all = all.slice(0, Math.max(0, q.limit));
    return all;
  }

  /** DELETE /task/<id>: only queued/processing tasks can be cancelled. */
  cancel(t: Task): { ok: true } | { ok: false; message: string } {
    const state = this.visibleState(t);
    if (state !== 'queued' && state !== 'processing')
      return { ok: false, message: `Cannot cancel task ${t.id}: invalid state (${state})` };
    t.cancelRequested = true;
    if (t.state === 'done') t.state = 'cancelled';
    return { ok: true };
  }
}
