// Following Director tasks: poll the task until it leaves the running states (quickly at first,
// then at the configured interval), give up after a deadline or when the client is disposed, and
// turn a failed task into an error carrying the event log's message. Plain Node, no `vscode`.
import { BoshError, DirectorTask } from '../types';
import { sleep } from '../../util/async';
import { parseJsonBody } from './errors';
import type { Resp } from './transport';

const RUNNING_TASK_STATES = new Set(['queued', 'processing', 'cancelling']);

export interface TaskFollowerOptions {
  /** GET on the Director, following redirects. */
  getFollow: (path: string) => Promise<{ resp: Resp; finalPath: string }>;
  /** Longest polling interval; polling starts at 100 ms and grows by 50 ms up to it. */
  pollIntervalMs: number;
  /** Give up waiting for a task after this long. */
  taskTimeoutMs: number;
  /** Aborted when the client is disposed: a pending poll stops. */
  signal: AbortSignal;
}

export interface TaskFollower {
  getTask(id: number): Promise<DirectorTask>;
  /** Waits for the task a redirect points to (`/tasks/<id>…`) and returns its result output. */
  followTask(taskPath: string, what: string): Promise<{ id: number; result: string }>;
}

/** The last error message of a task's event log (one JSON object per line), if any. */
export function lastTaskError(eventLog: string): string | undefined {
  let last: string | undefined;
  for (const line of eventLog.split('\n')) {
    if (!line.trim()) continue;
    try {
      const ev = JSON.parse(line) as { error?: { message?: string }; state?: string; data?: { error?: string } };
      if (ev.error?.message) last = ev.error.message;
      else if (ev.state === 'failed' && ev.data?.error && !last) last = ev.data.error;
    } catch {
      /* ignore non-JSON event lines */
    }
  }
  return last;
}

export function createTaskFollower(opts: TaskFollowerOptions): TaskFollower {
  const { getFollow, pollIntervalMs, taskTimeoutMs, signal } = opts;

  async function getTask(id: number): Promise<DirectorTask> {
    const { resp } = await getFollow(`/tasks/${id}`);
    return parseJsonBody<DirectorTask>(resp, `GET /tasks/${id}`);
  }

  async function taskErrorMessage(id: number): Promise<string | undefined> {
    try {
      const { resp } = await getFollow(`/tasks/${id}/output?type=event`);
      return lastTaskError(resp.body);
    } catch {
      return undefined;
    }
  }

  async function followTask(taskPath: string, what: string): Promise<{ id: number; result: string }> {
    const m = /^\/tasks\/(\d+)/.exec(taskPath);
    if (!m) throw new BoshError('protocol', `${what}: the Director redirected to '${taskPath}', not to a task.`);
    const id = Number(m[1]);
    const deadline = Date.now() + taskTimeoutMs;
    // Quick tasks (vm_state, ssh) finish in well under a second or two: poll at 100 ms first, 50 ms
    // longer each time up to the configured interval (the CLI's fixed 500 ms), so a listing does not
    // wait a whole interval, nor an ssh setup done just after a poll 400 ms for the next (doubling).
    let delay = Math.min(100, pollIntervalMs);
    let task: DirectorTask;
    for (;;) {
      task = await getTask(id);
      if (!RUNNING_TASK_STATES.has(task.state)) break;
      if (Date.now() > deadline) {
        throw new BoshError(
          'task',
          `${what}: task '${id}' is still '${task.state}' after ${Math.round(taskTimeoutMs / 1000)} s. See \`bosh task ${id}\`.`,
        );
      }
      try {
        await sleep(delay, signal);
      } catch {
        throw new BoshError(
          'unreachable',
          `${what}: stopped waiting for task '${id}': the Director client was disposed.`,
        );
      }
      delay = Math.min(pollIntervalMs, delay + 50);
    }
    if (task.state !== 'done') {
      const msg = (await taskErrorMessage(id)) ?? (task.result || undefined);
      throw new BoshError(
        'task',
        `Expected task '${id}' to succeed but state is '${task.state}'${msg ? `: ${msg}` : ''}. ${what}; see \`bosh task ${id}\`.`,
      );
    }
    const { resp } = await getFollow(`/tasks/${id}/output?type=result`);
    return { id, result: resp.status === 204 ? '' : resp.body };
  }

  return { getTask, followTask };
}
