// Builds the folders of one testbed: PKI, keys, and one folder per VM with what gets mounted over
// /var/vcap, /etc/hosts and /etc/ssh inside that VM.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Layout, masterFqdn, vmIp, vmName } from './layout';
import { ETCD_CONFIG_FILES, makeEtcdPki, sshKey } from './pki';
import { JUMP_USER, STATIC_USER } from './shared';
import { TestbedVm } from './state';
import * as T from './templates';
import { run } from './sh';
import { EtcdDist } from './etcd-dist';

export const MASTER_DUMMY_JOBS = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'];
export const WORKER_DUMMY_JOBS = ['kubelet', 'kube-proxy'];

export interface Keys {
  staticKey: string;
  staticPub: string;
  jumpKey: string;
  jumpPub: string;
  knownHosts: string;
}

export function planVms(L: Layout, masterCount: number): TestbedVm[] {
  const vms: TestbedVm[] = [];
  const mk = (group: string, index: number): TestbedVm => {
    const id = crypto.randomUUID();
    const ip = vmIp(L.net, group, index);
    const vm: TestbedVm = {
      group,
      id,
      index,
      az: `pks-az${(index % 3) + 1}`,
      ip,
      bootstrap: group !== 'jumpbox' && index === 0,
      vmCid: `vm-${crypto.randomUUID()}`,
      vmType: group === 'master' ? 'medium.disk' : group === 'worker' ? 'large.disk' : 'micro',
      agentId: crypto.randomUUID(),
      dir: path.join(L.vms, vmName(group, index)),
      nsPid: 0,
    };
    if (group === 'master') {
      vm.etcdFqdn = masterFqdn(index);
      vm.etcdClientUrl = `https://${vm.etcdFqdn}:2379`;
      vm.etcdPeerUrl = `https://${vm.etcdFqdn}:2380`;
    }
    return vm;
  };
  vms.push(mk('jumpbox', 0));
  for (let i = 0; i < masterCount; i++) vms.push(mk('master', i));
  vms.push(mk('worker', 0));
  return vms;
}

function w(file: string, content: string, mode = 0o644, owner?: { uid: number; gid: number }) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content, { mode });
  fs.chmodSync(file, mode);
  if (owner) fs.chownSync(file, owner.uid, owner.gid);
}

async function userIds(user: string): Promise<{ uid: number; gid: number }> {
  const uid = Number((await run('id', ['-u', user])).stdout.trim());
  const gid = Number((await run('id', ['-g', user])).stdout.trim());
  return { uid, gid };
}

export interface BuildOptions {
  etcd: EtcdDist;
  monitCycleSeconds: number;
  /** The etcd job's `--quota-backend-bytes` (absent: etcd's default, 2 GiB). */
  quotaBackendBytes?: number;
}

/** PKI, client keys and every VM's folder (host keys included); returns the keys and known_hosts. */
export async function buildTestbed(L: Layout, vms: TestbedVm[], opts: BuildOptions): Promise<Keys> {
  for (const d of [L.keys, L.vms, L.logs]) fs.mkdirSync(d, { recursive: true, mode: 0o700 });
  const staticKey = path.join(L.keys, `${STATIC_USER}_ed25519`);
  const jumpKey = path.join(L.keys, `${JUMP_USER}_jumpbox_ed25519`);
  const [, staticPub, jumpPub, hostKeys] = await Promise.all([
    makeEtcdPki(L.pki),
    sshKey(staticKey, 'ed25519', `${STATIC_USER}@bosh-etcd-testbed`),
    sshKey(jumpKey, 'ed25519', `${JUMP_USER}@bosh-etcd-testbed`),
    Promise.all(
      vms.map(async (vm) => {
        const sshDir = path.join(vm.dir, 'ssh');
        fs.mkdirSync(sshDir, { recursive: true, mode: 0o755 });
        const [ed, rsa] = await Promise.all([
          sshKey(path.join(sshDir, 'ssh_host_ed25519_key'), 'ed25519', `root@${vmName(vm.group, vm.index)}`),
          sshKey(path.join(sshDir, 'ssh_host_rsa_key'), 'rsa', `root@${vmName(vm.group, vm.index)}`),
        ]);
        return { vm, ed, rsa };
      }),
    ),
  ]);
  const vcap = await userIds(STATIC_USER);
  const jumpIds = await userIds(JUMP_USER);
  const masterInfos: T.MasterInfo[] = vms
    .filter((v) => v.group === 'master')
    .map((v) => ({ index: v.index, id: v.id, ip: v.ip }));
  const hostname = os.hostname();

  const knownHosts: string[] = [];
  for (const { vm, ed, rsa } of hostKeys) {
    const names = [
      vm.ip,
      ...(vm.etcdFqdn ? [vm.etcdFqdn] : []),
      ...(vm.group === 'jumpbox' ? ['jumpbox.cfcr.internal'] : []),
    ].join(',');
    for (const k of [ed, rsa]) knownHosts.push(`${names} ${k.split(' ').slice(0, 2).join(' ')}`);
    buildVmDir(vm, { vcap, jumpIds, staticPub, jumpPub, masterInfos, hostname, L, pki: L.pki, ...opts });
  }
  const knownHostsPath = path.join(L.keys, 'known_hosts');
  w(knownHostsPath, knownHosts.join('\n') + '\n', 0o644);
  return { staticKey, staticPub, jumpKey, jumpPub, knownHosts: knownHostsPath };
}

interface BuildCtx {
  vcap: { uid: number; gid: number };
  jumpIds: { uid: number; gid: number };
  staticPub: string;
  jumpPub: string;
  masterInfos: T.MasterInfo[];
  hostname: string;
  L: Layout;
  pki: string;
  etcd: EtcdDist;
  monitCycleSeconds: number;
  quotaBackendBytes?: number;
}

function buildVmDir(vm: TestbedVm, c: BuildCtx) {
  const D = vm.dir;
  const V = path.join(D, 'vcap');
  const root = { uid: 0, gid: 0 };
  for (const d of ['bosh/etc', 'monit/job', 'sys/run', 'sys/log', 'store', 'data', 'jobs'])
    fs.mkdirSync(path.join(V, d), { recursive: true, mode: 0o755 });
  fs.chmodSync(V, 0o755);
  w(path.join(D, 'hosts'), T.hostsFile(c.L.net, c.masterInfos, c.hostname));
  // /etc/ssh: root-owned, not group/world-writable (sshd StrictModes)
  fs.chmodSync(path.join(D, 'ssh'), 0o755);
  w(path.join(D, 'ssh/sshd_config'), T.sshdConfig(vm.ip));
  fs.mkdirSync(path.join(D, 'ssh/authorized_keys'), { recursive: true, mode: 0o755 });
  w(path.join(D, 'ssh/authorized_keys', STATIC_USER), c.staticPub + '\n', 0o644, root);
  if (vm.group === 'jumpbox') {
    w(path.join(D, 'ssh/authorized_keys', JUMP_USER), c.jumpPub + '\n', 0o644, root);
    return; // jumpbox: sshd only
  }

  // monit + bpm
  w(path.join(V, 'bosh/etc/monitrc'), T.monitrc(c.monitCycleSeconds), 0o700, root);
  w(path.join(V, 'jobs/bpm/bin/bpm'), T.BPM, 0o755);
  const dummies = vm.group === 'master' ? MASTER_DUMMY_JOBS : WORKER_DUMMY_JOBS;
  // monit starts the services of its first cycle one after the other, last included first: etcd last
  const jobs = vm.group === 'master' ? [...dummies, 'etcd'] : dummies;
  jobs.forEach((job, i) =>
    w(path.join(V, `monit/job/${String(i).padStart(4, '0')}_${job}.monitrc`), T.monitJob(job), 0o644),
  );
  for (const job of dummies) {
    w(path.join(V, `jobs/${job}/bin/${job}`), T.DUMMY_JOB, 0o755);
    fs.mkdirSync(path.join(V, `sys/log/${job}`), { recursive: true });
    fs.chownSync(path.join(V, `sys/log/${job}`), c.vcap.uid, c.vcap.gid);
  }
  if (vm.group !== 'master') return;

  // the etcd job
  const self = c.masterInfos.find((m) => m.index === vm.index)!;
  const J = path.join(V, 'jobs/etcd');
  w(path.join(J, 'bin/etcd'), T.etcdStartScript(self, vm.bootstrap, c.quotaBackendBytes), 0o755);
  w(path.join(J, 'bin/etcdctl'), T.ETCDCTL, 0o755);
  w(path.join(J, 'bin/utils.sh'), T.utilsSh(self, c.masterInfos), 0o644);
  w(path.join(J, 'bin/post-start'), T.POST_START, 0o755);
  w(path.join(J, 'bin/authentication-setup'), T.authenticationSetup(c.etcd.version === '3.4'), 0o755);
  w(path.join(J, 'bin/drain'), T.drainScript(self.id), 0o755);
  // the etcd package: links to the host's binaries of the chosen version
  const P = path.join(V, T.ETCD_PACKAGE_BIN.replace('/var/vcap/', ''));
  fs.mkdirSync(P, { recursive: true, mode: 0o755 });
  for (const b of c.etcd.binaries) fs.symlinkSync(path.join(c.etcd.binDir, b), path.join(P, b));
  fs.mkdirSync(path.join(J, 'config'), { recursive: true });
  fs.chownSync(path.join(J, 'config'), 0, c.vcap.gid);
  fs.chmodSync(path.join(J, 'config'), 0o750);
  for (const [name, src] of Object.entries(ETCD_CONFIG_FILES)) {
    w(path.join(J, 'config', name), fs.readFileSync(path.join(c.pki, src), 'utf8'), 0o640, { uid: 0, gid: c.vcap.gid });
  }
  for (const [d, mode] of [
    ['store/etcd', 0o700],
    ['data/etcd', 0o700],
    ['sys/log/etcd', 0o755],
  ] as const) {
    fs.mkdirSync(path.join(V, d), { recursive: true, mode });
    fs.chmodSync(path.join(V, d), mode);
    fs.chownSync(path.join(V, d), c.vcap.uid, c.vcap.gid);
  }
  // one-shot: the first start forms the whole cluster (see templates.etcdStartScript)
  w(path.join(V, 'data/etcd/initial-cluster-new'), '', 0o644, c.vcap);
}
