import * as assert from 'assert';
import { BoshError } from '../../src/bosh/types';
import { isInstanceRunning, parseInstanceInfoLines, processStateCell } from '../../src/bosh/vmInfo';

// Result lines of a vm_state task: the Director API docs' sample and the bosh CLI's fixture.
const DOCS_LINE =
  '{"vm_cid":"3938cc70-8f5e-4318-ad05-24d991e0e66e","disk_cid":null,"ips":["10.0.1.3"],"dns":[],"agent_id":"d927e75b-2a2d-4015-b5cc-306a067e94e9","job_name":"example_service","index":1,"job_state":"running","state":"started","resource_pool":"resource_pool_1","vm_type":"resource_pool_1","vitals":{"cpu":{"sys":"0.3","user":"0.1","wait":"0.0"},"disk":{"ephemeral":{"inode_percent":"5","percent":"32"},"system":{"inode_percent":"34","percent":"66"}},"load":["0.00","0.01","0.10"],"mem":{"kb":"605008","percent":"7"},"swap":{"kb":"75436","percent":"1"}},"processes":[{"name":"beacon","state":"running","uptime":{"secs":1212184},"mem":{"kb":776,"percent":0},"cpu":{"total":0}}],"az":null,"id":"abe6a4e9-cfca-490b-8515-2893f9e54d20","bootstrap":false,"ignore":false}';
const CLI_LINE =
  '{"agent_id":"agent-id","job_name":"job","id":"id","index":1,"job_state":"running","bootstrap":true,"ips":["ip"],"az":"az","ignore":true,"vm_cid":"vm-cid","disk_cid":"disk-cid","disk_cids":["disk-cid1","disk-cid2"],"vm_type":"vm-type","resource_pool":"rp","vm_created_at":"2016-01-09T06:23:25+00:00","cloud_properties":"cp1","processes":[{"name":"service","state":"running","uptime":{"secs":343020},"cpu":{"total":10},"mem":{"percent":0.5,"kb":23952}}],"resurrection_paused":true}';
const NO_VM =
  '{"vm_cid":null,"active":null,"vm_created_at":null,"disk_cid":"disk-9","disk_cids":[],"ips":[],"agent_id":null,"job_name":"apply-addons","index":0,"job_state":null,"state":"started","vm_type":"micro","vitals":null,"processes":[],"az":"z1","id":"e1","bootstrap":true,"ignore":false,"stemcell":{"name":"ubuntu-jammy","version":"1.423","api_version":3}}';

describe('Director instance infos (src/bosh/vmInfo.ts)', () => {
  it('camelCases a task result line (job_name→group, job_state→processState, vm_cid→vmCid, …)', () => {
    const [i] = parseInstanceInfoLines(DOCS_LINE + '\n', 'dep');
    assert.deepStrictEqual(i, {
      deployment: 'dep',
      group: 'example_service',
      id: 'abe6a4e9-cfca-490b-8515-2893f9e54d20',
      index: 1,
      processState: 'running',
      state: 'started',
      az: null,
      ips: ['10.0.1.3'],
      vmCid: '3938cc70-8f5e-4318-ad05-24d991e0e66e',
      vmType: 'resource_pool_1',
      agentId: 'd927e75b-2a2d-4015-b5cc-306a067e94e9',
      bootstrap: false,
      ignore: false,
      diskCids: [],
      processes: [
        {
          name: 'beacon',
          state: 'running',
          uptime: { secs: 1212184 },
          mem: { kb: 776, percent: 0 },
          cpu: { total: 0 },
        },
      ],
      vmCreatedAt: null,
      active: null,
      stemcell: null,
      vmState: 'present',
    });
  });

  it('tells hard-stopped, VM-less, soft-stopped and ignored instances apart (vmState, state, ignore)', () => {
    const line = (o: Record<string, unknown>) =>
      JSON.stringify({ ...JSON.parse(NO_VM), job_name: 'master', id: String(o.id), ...o });
    const [detached, deleted, stopped, ignored] = parseInstanceInfoLines(
      [
        line({ id: 'a', index: 0, state: 'detached' }),
        line({ id: 'b', index: 1, state: 'started' }),
        line({ id: 'c', index: 2, state: 'stopped', vm_cid: 'vm-c', ips: ['10.0.0.3'], job_state: 'stopped' }),
        line({ id: 'd', index: 3, vm_cid: 'vm-d', ips: ['10.0.0.4'], job_state: 'running', ignore: true }),
      ].join('\n'),
      'dep',
    );
    assert.deepStrictEqual(
      [detached.vmState, detached.state, detached.vmCid, detached.processState, detached.ips],
      ['detached', 'detached', null, null, []],
    );
    assert.deepStrictEqual(
      [deleted.vmState, deleted.state, deleted.vmCid, deleted.processState],
      ['missing', 'started', null, null],
    );
    assert.deepStrictEqual([stopped.vmState, stopped.state, stopped.processState], ['present', 'stopped', 'stopped']);
    assert.deepStrictEqual([ignored.vmState, ignored.ignore, ignored.processState], ['present', true, 'running']);
    // `?format=full` has no expects_vm; the fast list's field is kept when present.
    assert.strictEqual(deleted.expectsVm, undefined);
    const [fast] = parseInstanceInfoLines(line({ id: 'e', index: 4, expects_vm: false, state: 'detached' }), 'dep');
    assert.strictEqual(fast.expectsVm, false);
  });

  it('prefers disk_cids, falls back to [disk_cid], and handles an instance without VM', () => {
    const list = parseInstanceInfoLines(`${CLI_LINE}\n\n${NO_VM}\n`, 'd');
    const withVm = list.find((x) => x.group === 'job')!;
    assert.deepStrictEqual(withVm.diskCids, ['disk-cid1', 'disk-cid2']);
    assert.strictEqual(withVm.bootstrap, true);
    assert.strictEqual(withVm.vmCreatedAt, '2016-01-09T06:23:25+00:00');
    const errand = list.find((x) => x.group === 'apply-addons')!;
    assert.deepStrictEqual(errand.diskCids, ['disk-9']);
    assert.strictEqual(errand.vmCid, null);
    assert.strictEqual(errand.processState, null);
    assert.strictEqual(errand.stemcell, 'ubuntu-jammy/1.423');
    assert.deepStrictEqual(
      list.map((x) => x.group),
      ['apply-addons', 'job'],
      'sorted by group',
    );
  });

  it("rejects a line that is not JSON with the CLI's message", () => {
    assert.throws(
      () => parseInstanceInfoLines(`${CLI_LINE}\n{broken\n`, 'd'),
      (e: unknown) =>
        e instanceof BoshError &&
        e.kind === 'protocol' &&
        e.message === "Unmarshaling instance info response: '{broken'",
    );
  });

  it('process-state cell and IsRunning as the CLI computes them', () => {
    const [i] = parseInstanceInfoLines(CLI_LINE, 'd');
    assert.strictEqual(processStateCell(i), 'running');
    assert.ok(isInstanceRunning(i));
    assert.strictEqual(processStateCell({ processState: 'running', processes: [] }), '');
    assert.ok(!isInstanceRunning({ processState: 'running', processes: [{ name: 'etcd', state: 'failing' }] }));
  });
});
