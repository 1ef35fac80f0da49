// Shared by the extension-host fault tests (not a test file itself): break a master of the
// testbed from inside the extension host, refresh the tree (the diagnosis monitor observes at
// once: no waiting for a poll) until it renders the finding, check the status bar, heal, and
// wait until the tree and the status bar are healthy again.
import * as assert from 'assert';
import type { BoshEtcdApi } from '../../src/extension';
import type { ItemSpec } from '../../src/views/nodes';
import type { FaultMode } from '../testbed/harness/index';
import { masters, type TestbedState } from '../testbed/harness/state';
import { harness, until, walkDeployment as walk, type DeploymentTree } from './helpers';

export const envNameOf = (w: Pick<DeploymentTree, 'env'>) => w.env.key.replace(/^env:/, '');

export const RED = { id: 'error', color: 'errorForeground' };
export const YELLOW = { id: 'warning', color: 'list.warningForeground' };
export const ERROR_BG = 'statusBarItem.errorBackground';
export const WARNING_BG = 'statusBarItem.warningBackground';

/** What the tree shows for the deployment's etcd section and one master (its member and instance rows). */
export interface Rendered {
  envName: string;
  etcd: ItemSpec;
  findings: ItemSpec[];
  member: ItemSpec;
  instance: ItemSpec;
  /** Every member row, in the tree's order. */
  members: ItemSpec[];
}

/** Modes whose data is gone: heal rebuilds the member by the runbook. */
const REBUILD: FaultMode[] = ['wipe', 'bootstrap-wipe', 'corrupt'];

export class FaultView {
  /** The instance whose fault is not healed yet (suiteTeardown heals it). */
  broken?: string;

  constructor(
    private readonly api: BoshEtcdApi,
    private readonly state: TestbedState,
  ) {}

  /** A fresh diagnosis (a tree refresh observes at once), then what the tree renders. */
  async rendered(instanceId: string): Promise<Rendered> {
    const { api, state } = this;
    api.model.refresh();
    const w = await walk(api, state);
    const m = api.model;
    await m.diagnosis(envNameOf(w), state.deployment);
    const fresh = await walk(api, state);
    const k = masters(state).findIndex((v) => v.id === instanceId);
    const kids = fresh.members.map((n) => ({ n, item: m.getItem(n) }));
    return {
      envName: envNameOf(fresh),
      etcd: m.getItem(fresh.etcd),
      findings: kids.filter((x) => x.n.kind === 'finding').map((x) => x.item),
      member: kids.find((x) => x.n.kind === 'member' && x.n.member.instance?.id === instanceId)!.item,
      instance: m.getItem(fresh.instances[k]),
      members: kids.filter((x) => x.n.kind === 'member').map((x) => x.item),
    };
  }

  /**
   * Breaks one master and refreshes the tree until `shows` accepts what it renders and the status
   * bar (the same monitor entry) says `statusBar.text`; asserts its colour and target.
   */
  async breakUntil(
    mode: FaultMode,
    index: number,
    shows: (t: Rendered) => boolean,
    statusBar: { text: RegExp; background: string | undefined },
  ): Promise<Rendered> {
    const victim = masters(this.state)[index];
    this.broken = `master/${victim.id}`;
    await harness().breakInstance(this.broken, mode);
    let last: Rendered | undefined;
    const seen = await until(
      `the tree to show the ${mode} finding and the status bar to say ${statusBar.text}`,
      async () => {
        const t = (last = await this.rendered(victim.id));
        return shows(t) && statusBar.text.test(this.api.statusBar.current?.text ?? '') ? t : undefined;
      },
      150_000,
    ).catch((e: Error) => {
      throw new Error(
        `${e.message}; last seen: etcd "${last?.etcd.description}", member "${last?.member.description}", status bar "${this.api.statusBar.current?.text}"`,
      );
    });
    assert.strictEqual(this.api.statusBar.backgroundColorId, statusBar.background);
    assert.deepStrictEqual(this.api.statusBar.current?.target, {
      envName: seen.envName,
      deployment: this.state.deployment,
    });
    return seen;
  }

  /** Heals the broken instance (rebuilding a member whose data is gone) and waits for 3/3 healthy, "etcd ok". */
  async heal(mode: FaultMode, index: number): Promise<void> {
    const victim = masters(this.state)[index];
    if (this.broken) await harness().heal(this.broken, { rebuild: REBUILD.includes(mode) });
    this.broken = undefined;
    await until(
      'all healthy again',
      async () => {
        const t = await this.rendered(victim.id);
        return t.etcd.description === '3/3 healthy' && /etcd ok/.test(this.api.statusBar.current?.text ?? '')
          ? true
          : undefined;
      },
      150_000,
    );
  }

  /** breakUntil, then heal. */
  async fault(
    mode: FaultMode,
    index: number,
    shows: (t: Rendered) => boolean,
    statusBar: { text: RegExp; background: string | undefined },
  ): Promise<Rendered> {
    const seen = await this.breakUntil(mode, index, shows, statusBar);
    await this.heal(mode, index);
    return seen;
  }

  /** After each test: heals whatever a failed test left broken (every recorded fault: one may have led to another). */
  async teardown(): Promise<void> {
    if (this.broken) await harness().heal(undefined, { rebuild: true });
    this.broken = undefined;
  }
}
