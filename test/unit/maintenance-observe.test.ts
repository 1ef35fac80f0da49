// observeMaintenance against a fake session: which Director list it reads (the fast one, the full
// one as a fallback) and that the VM probes (first SSH connections) are under way before etcd answers.
import * as assert from 'assert';
import type { InstanceInfo } from '../../src/bosh/types';
import { instanceFromSummary } from '../../src/bosh/director/instances';
import type { EtcdCluster } from '../../src/etcd/types';
import { observeMaintenance } from '../../src/maintenance/observe';
import type { DeploymentSession } from '../../src/session/types';
import type { ExecResult } from '../../src/ssh/types';

const D = 'service-instance_x';
const inst = (group: string, id: string, index: number): InstanceInfo =>
  instanceFromSummary(D, { group, id, index, az: null, ips: [`10.0.0.${index + 1}`], vmCid: 'vm', agentId: 'a' });

function fakeCluster(onStatus: () => Promise<void>): EtcdCluster {
  const ids = ['m0', 'm1', 'm2'];
  const endpoints = ids.map((name, i) => ({ name, url: `https://master-${i}.etcd.cfcr.internal:2379` }));
  const cluster: Partial<EtcdCluster> = {
    endpoints,
    status: async () => {
      await onStatus();
      return endpoints.map((e, i) => ({
        endpoint: e.url,
        ok: true as const,
        tookMs: 1,
        value: {
          endpoint: e.url,
          memberId: `${i + 1}`,
          version: '3.5.16',
          dbSize: 100,
          dbSizeInUse: 40,
          leader: '3',
          raftTerm: '2',
          raftIndex: '10',
          errors: [],
          revision: '7',
        },
      }));
    },
    health: async () =>
      endpoints.map((e) => ({
        endpoint: e.url,
        ok: true as const,
        tookMs: 1,
        value: { endpoint: e.url, healthy: true, tookMs: 1 },
      })),
    memberList: async () => [],
    alarms: async () => [],
  };
  return cluster as EtcdCluster;
}

const OK: ExecResult = { code: 0, signal: null, stdout: '### state\n### quota\n', stderr: '', durationMs: 1 };

describe('maintenance observation', () => {
  it("reads the Director's fast list (no agent calls) and probes the VMs while etcd answers", async () => {
    const calls: string[] = [];
    let probed = 0;
    let probesStarted!: () => void;
    const allProbing = new Promise<void>((r) => (probesStarted = r));
    const masters = [inst('master', 'm0', 0), inst('master', 'm1', 1), inst('master', 'm2', 2)];
    const session = {
      deployment: D,
      instances: async () => {
        calls.push('instances');
        return masters;
      },
      instancesQuick: async () => {
        calls.push('instancesQuick');
        return [...masters, inst('worker', 'w0', 0)];
      },
      // etcd answers only once every probe has started (it would wait forever if they came after it)
      etcd: async () =>
        fakeCluster(() =>
          Promise.race([
            allProbing,
            new Promise<void>((_, no) =>
              setTimeout(() => no(new Error('the probes did not start before etcd answered')), 2000),
            ),
          ]),
        ),
    } as unknown as DeploymentSession;
    const obs = await observeMaintenance(session, {
      exec: async (label) => {
        calls.push(`probe ${label}`);
        if (++probed === 3) probesStarted();
        return () => OK;
      },
    });
    assert.deepStrictEqual(calls, ['instancesQuick', 'probe master/m0', 'probe master/m1', 'probe master/m2']);
    assert.deepStrictEqual(obs.errors, []);
    assert.deepStrictEqual(
      obs.members.map((m) => [m.label, m.healthy, m.dbSize, m.vm?.reachable]),
      [
        ['master/m0', true, 100, true],
        ['master/m1', true, 100, true],
        ['master/m2', true, 100, true],
      ],
    );
  });

  it('falls back to the full list when the fast one fails or shows no master group', async () => {
    for (const quick of [async () => Promise.reject(new Error('404')), async () => [inst('etcd', 'm0', 0)]]) {
      const calls: string[] = [];
      const session = {
        deployment: D,
        instances: async () => {
          calls.push('instances');
          return [inst('master', 'm0', 0), inst('master', 'm1', 1), inst('master', 'm2', 2)];
        },
        instancesQuick: async () => {
          calls.push('instancesQuick');
          return quick();
        },
        etcd: async () => fakeCluster(async () => undefined),
      } as unknown as DeploymentSession;
      const obs = await observeMaintenance(session, { probeVms: false });
      assert.deepStrictEqual(calls, ['instancesQuick', 'instances']);
      assert.strictEqual(obs.members.length, 3);
    }
  });
});
