import * as assert from 'assert';
import {
  CliJsonError,
  deploymentsFromCliJson,
  instancesFromCliJson,
  keyifyHeader,
  vmsFromCliJson,
} from '../../src/bosh/cliJson';
import { fixture } from './fixture-path';

const b = (n: string) => fixture('bosh-cli', n);
const DEP = 'service-instance_2f1c7c0a-53a1-4b9e-9d5e-5c8f2b6d1a70';

describe('bosh CLI --json tables (src/bosh/cliJson.ts)', () => {
  it('keyifies column titles like the CLI', () => {
    assert.strictEqual(keyifyHeader('Process State'), 'process_state');
    assert.strictEqual(keyifyHeader('VM CID'), 'vm_cid');
    assert.strictEqual(keyifyHeader('Resurrection\nPaused'), 'resurrection_paused');
    assert.strictEqual(keyifyHeader('Release(s)'), 'release_s');
    assert.strictEqual(keyifyHeader('IPs'), 'ips');
    assert.strictEqual(keyifyHeader('--'), '_');
  });

  it('reads `bosh -d <dep> instances --details --json`', () => {
    const is = instancesFromCliJson(b('instances-details.json'));
    assert.deepStrictEqual(
      is.map((i) => `${i.group}/${i.index}`),
      ['apply-addons/0', 'master/0', 'master/1', 'master/2', 'worker/0'],
    );
    assert.ok(
      is.every((i) => i.deployment === DEP),
      'deployment from the "Using deployment" line',
    );
    const m1 = is.find((i) => i.group === 'master' && i.index === 1)!;
    assert.deepStrictEqual(m1, {
      deployment: DEP,
      group: 'master',
      id: '6f8b2e9c-3d4a-4b8e-9a1f-2c7d5e8f0a13',
      index: 1,
      processState: 'failing',
      state: 'started',
      az: 'pks-az2',
      ips: ['172.16.2.12'],
      vmCid: 'vm-7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d',
      vmType: 'medium.disk',
      agentId: 'd2e1f0a9-8b7c-4d6e-9f5a-4b3c2d1e0f68',
      bootstrap: false,
      ignore: false,
      diskCids: ['disk-1b2c3d4e'],
      processes: [],
      vmCreatedAt: null,
    });
    assert.deepStrictEqual(
      is.filter((i) => i.group === 'master' && i.bootstrap).map((i) => i.index),
      [0],
    );
    const errand = is.find((i) => i.group === 'apply-addons')!;
    assert.strictEqual(errand.vmCid, null);
    assert.strictEqual(errand.processState, null);
    assert.deepStrictEqual(errand.ips, []);
    assert.deepStrictEqual(is.find((i) => i.group === 'worker')!.ips, ['172.16.2.21', '10.200.0.21']);
    assert.strictEqual(instancesFromCliJson(b('instances-details.json'), 'other')[0].deployment, 'other');
  });

  it('attaches --ps process rows to their instance', () => {
    const is = instancesFromCliJson(b('instances-ps.json'));
    assert.strictEqual(is.length, 3);
    const m1 = is.find((i) => i.id === '6f8b2e9c-3d4a-4b8e-9a1f-2c7d5e8f0a13')!;
    assert.deepStrictEqual(m1.processes, [
      { name: 'etcd', state: 'failing' },
      { name: 'kube-apiserver', state: 'running' },
      { name: 'blackbox', state: 'running' },
    ]);
    assert.strictEqual(m1.processState, 'failing');
  });

  it('reads `bosh vms --json` with Active and Stemcell', () => {
    const vms = vmsFromCliJson(b('vms.json'), DEP);
    assert.strictEqual(vms.length, 4);
    assert.ok(
      vms.every((v) => v.active === true && v.stemcell === 'bosh-vsphere-esxi-ubuntu-jammy-go_agent/1.423' && v.vmCid),
    );
  });

  it('reads `bosh deployments --json` (releases and stemcells as name/version lines)', () => {
    const ds = deploymentsFromCliJson(b('deployments.json'));
    assert.strictEqual(ds.length, 2);
    assert.deepStrictEqual(ds[1], {
      name: DEP,
      releases: [
        { name: 'bosh-dns', version: '1.38.2' },
        { name: 'bpm', version: '1.2.19' },
        { name: 'cfcr-etcd', version: '1.23.0' },
        { name: 'kubo', version: '1.20.0' },
      ],
      stemcells: [{ name: 'bosh-vsphere-esxi-ubuntu-jammy-go_agent', version: '1.423' }],
      teams: ['pks_admin'],
      cloud_config: 'latest',
    });
    assert.deepStrictEqual(ds[0].teams, []);
  });

  it('says what it expected when given something else', () => {
    assert.throws(
      () => instancesFromCliJson('Using environment ...\nInstance  Process State'),
      (e: unknown) => e instanceof CliJsonError && /Run the bosh command with --json/.test(e.message),
    );
    assert.throws(() => instancesFromCliJson(b('deployments.json')), /Content "instances".*found tables: deployments/);
    assert.throws(() => deploymentsFromCliJson('{"foo":1}'), /"Tables"/);
  });
});
