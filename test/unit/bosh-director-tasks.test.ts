// Task following (src/bosh/director/tasks.ts) alone: the Director side is a script of task states,
// the answers a real Director gives while a task runs (the testbed tier follows real stand-in tasks).
import * as assert from 'assert';
import { createTaskFollower, lastTaskError } from '../../src/bosh/director/tasks';
import type { Resp } from '../../src/bosh/director/transport';
import { BoshError } from '../../src/bosh/types';

const json = (v: unknown, status = 200): Resp => ({ status, headers: {}, body: JSON.stringify(v) });
const text = (body: string, status = 200): Resp => ({ status, headers: {}, body });

/** A Director whose task 7 goes through `states`, then stays in the last one. */
function scriptedDirector(states: string[], output: { result?: Resp; event?: Resp } = {}) {
  const requested: string[] = [];
  let polls = 0;
  const getFollow = (path: string) => {
    requested.push(path);
    if (path === '/tasks/7') {
      const state = states[Math.min(polls++, states.length - 1)];
      return Promise.resolve({
        resp: json({ id: 7, state, result: state === 'error' ? 'boom' : '' }),
        finalPath: path,
      });
    }
    if (path === '/tasks/7/output?type=result')
      return Promise.resolve({ resp: output.result ?? text('line\n'), finalPath: path });
    if (path === '/tasks/7/output?type=event')
      return Promise.resolve({ resp: output.event ?? text(''), finalPath: path });
    return Promise.reject(new Error(`unexpected ${path}`));
  };
  return { getFollow, requested, polls: () => polls };
}

describe('Director task following (src/bosh/director/tasks.ts)', () => {
  it('polls a queued, then processing task until done and returns its result output', async () => {
    const d = scriptedDirector(['queued', 'processing', 'processing', 'done']);
    const tasks = createTaskFollower({
      getFollow: d.getFollow,
      pollIntervalMs: 20,
      taskTimeoutMs: 60_000,
      signal: new AbortController().signal,
    });
    assert.deepStrictEqual(await tasks.followTask('/tasks/7', 'Listing'), { id: 7, result: 'line\n' });
    assert.strictEqual(d.polls(), 4);
    assert.strictEqual(d.requested.at(-1), '/tasks/7/output?type=result');
  });

  it('an empty result (204) is an empty string', async () => {
    const d = scriptedDirector(['done'], { result: text('', 204) });
    const tasks = createTaskFollower({
      getFollow: d.getFollow,
      pollIntervalMs: 20,
      taskTimeoutMs: 60_000,
      signal: new AbortController().signal,
    });
    assert.strictEqual((await tasks.followTask('/tasks/7', 'Cleanup')).result, '');
  });

  it('a failed task is a task error with the event log message and the bosh task hint', async () => {
    const events = [
      JSON.stringify({ time: 1, stage: 'x', state: 'started' }),
      JSON.stringify({ time: 2, error: { code: 100, message: "Instance 'master/9' doesn't exist" } }),
    ].join('\n');
    const d = scriptedDirector(['processing', 'error'], { event: text(events) });
    const tasks = createTaskFollower({
      getFollow: d.getFollow,
      pollIntervalMs: 20,
      taskTimeoutMs: 60_000,
      signal: new AbortController().signal,
    });
    await assert.rejects(
      tasks.followTask('/tasks/7', 'Setting up SSH'),
      (e: unknown) =>
        e instanceof BoshError &&
        e.kind === 'task' &&
        /state is 'error': Instance 'master\/9' doesn't exist/.test(e.message) &&
        /bosh task 7/.test(e.message),
    );
  });

  it('an abort stops waiting on a running task', async () => {
    const d = scriptedDirector(['processing']);
    const life = new AbortController();
    const tasks = createTaskFollower({
      getFollow: d.getFollow,
      pollIntervalMs: 60_000,
      taskTimeoutMs: 600_000,
      signal: life.signal,
    });
    const waiting = tasks.followTask('/tasks/7', 'Listing');
    setImmediate(() => life.abort(new Error('disposed')));
    await assert.rejects(
      waiting,
      (e: unknown) => e instanceof BoshError && /stopped waiting for task '7'/.test(e.message),
    );
  });

  it('a redirect that is not to a task is a protocol error', async () => {
    const d = scriptedDirector(['done']);
    const tasks = createTaskFollower({
      getFollow: d.getFollow,
      pollIntervalMs: 20,
      taskTimeoutMs: 60_000,
      signal: new AbortController().signal,
    });
    await assert.rejects(
      tasks.followTask('/deployments/x', 'Listing'),
      (e: unknown) => e instanceof BoshError && e.kind === 'protocol',
    );
  });

  it('lastTaskError takes the last error event, else a failed stage error, and skips non-JSON lines', () => {
    assert.strictEqual(
      lastTaskError(['not json', '{"error":{"message":"first"}}', '{"error":{"message":"second"}}', ''].join('\n')),
      'second',
    );
    assert.strictEqual(lastTaskError('{"state":"failed","data":{"error":"stage failed"}}'), 'stage failed');
    assert.strictEqual(lastTaskError(''), undefined);
  });
});
