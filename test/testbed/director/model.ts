// The deployment the Director stand-in serves, derived from the testbed's VMs (STAND-IN: a real
// Director reads this from its database). One deployment `state.deployment` (TKGI names it
// `service-instance_<uuid>`), instance groups `master` and `worker` backed by the testbed VMs, and
// the errand `apply-addons` (an instance with no VM). The jump host is not part of the deployment.
import * as crypto from 'crypto';
import YAML from 'yaml';
import type { TestbedState, TestbedVm } from '../harness/state';
import type { InstanceOverride } from './instance-states';

export const RELEASES = [
  { name: 'bosh-dns', version: '1.38.2' },
  { name: 'bpm', version: '1.4.3' },
  { name: 'cfcr-etcd', version: '1.11.17' },
  { name: 'docker', version: '35.3.4' },
  { name: 'kubo', version: '1.21.0-build.31' },
];
export const STEMCELL = {
  name: 'bosh-vsphere-esxi-ubuntu-jammy-go_agent',
  os: 'ubuntu-jammy',
  version: '1.639',
  api_version: 3,
};

export interface InstanceModel {
  group: string;
  id: string;
  index: number;
  az: string | null;
  ips: string[];
  vmCid: string | null;
  agentId: string | null;
  vmType: string;
  bootstrap: boolean;
  diskCid: string | null;
  /** null for an instance without VM (the errand). */
  vm: TestbedVm | null;
  vmCreatedAt: string | null;
  cloudProperties: Record<string, unknown>;
  /** `service` for instance groups that keep a VM, `errand` for errands. */
  lifecycle: 'service' | 'errand';
}

/** An instance as the Director shows it now: the model with the operator's BOSH commands applied (instance-states.ts). */
export interface InstanceView {
  model: InstanceModel;
  /** The Director's instance state: `started`, `stopped` (bosh stop) or `detached` (bosh stop --hard). */
  state: 'started' | 'stopped' | 'detached';
  /** The VM behind the active VM record; null when the instance has none (errand, detached, deleted VM). */
  vm: TestbedVm | null;
  vmCid: string | null;
  agentId: string | null;
  vmCreatedAt: string | null;
  /** The Director reports IPs only for an instance with a VM. */
  ips: string[];
  ignore: boolean;
  /** Instance#expects_vm?: lifecycle `service` and state `started` or `stopped`. */
  expectsVm: boolean;
}

export function instanceView(model: InstanceModel, override?: InstanceOverride): InstanceView {
  const s = model.vm ? (override?.state ?? 'normal') : 'normal';
  const hasVm = !!model.vm && s !== 'detached' && s !== 'deleted-vm';
  const state = s === 'stopped' ? 'stopped' : s === 'detached' ? 'detached' : 'started';
  return {
    model,
    state,
    vm: hasVm ? model.vm : null,
    vmCid: hasVm ? (override?.vm?.cid ?? model.vmCid) : null,
    agentId: hasVm ? (override?.vm?.agentId ?? model.agentId) : null,
    vmCreatedAt: hasVm ? (override?.vm?.createdAt ?? model.vmCreatedAt) : null,
    ips: hasVm ? model.ips : [],
    ignore: s === 'ignored',
    expectsVm: model.lifecycle === 'service' && state !== 'detached',
  };
}

/** A stable UUID derived from text (so the errand keeps its id across restarts). */
export function stableUuid(text: string): string {
  const h = crypto.createHash('sha256').update(text).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Ruby `Time#utc.iso8601`: 2026-11-26T12:00:00Z (no fractional seconds). */
export function rubyIso8601(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export class DeploymentModel {
  readonly name: string;
  readonly instances: InstanceModel[];

  constructor(readonly state: Omit<TestbedState, 'director'>) {
    this.name = state.deployment;
    const created = rubyIso8601(new Date(Date.parse(state.createdAt) || Date.now()));
    const vms = state.vms.filter((v) => v.group !== 'jumpbox');
    this.instances = vms
      .map((vm): InstanceModel => ({
        group: vm.group,
        id: vm.id,
        index: vm.index,
        az: vm.az ?? null,
        ips: [vm.ip],
        vmCid: vm.vmCid,
        agentId: vm.agentId,
        vmType: vm.vmType,
        bootstrap: vm.bootstrap,
        diskCid: `disk-${stableUuid(`disk:${vm.id}`)}`,
        vm,
        vmCreatedAt: created,
        cloudProperties:
          vm.group === 'master' ? { cpu: 2, ram: 8192, disk: 65536 } : { cpu: 4, ram: 16384, disk: 65536 },
        lifecycle: 'service',
      }))
      .sort((a, b) => (a.group === b.group ? a.index - b.index : a.group < b.group ? -1 : 1));
    const azs = [...new Set(vms.map((v) => v.az).filter(Boolean))];
    this.instances.push({
      group: 'apply-addons',
      id: stableUuid(`apply-addons:${this.name}`),
      index: 0,
      az: azs[0] ?? null,
      ips: [],
      vmCid: null,
      agentId: null,
      vmType: 'micro',
      bootstrap: true,
      diskCid: null,
      vm: null,
      vmCreatedAt: null,
      cloudProperties: {},
      lifecycle: 'errand',
    });
  }

  summary(
    excludeConfigs: boolean,
    excludeReleases: boolean,
    excludeStemcells: boolean,
    excludeLock: boolean,
  ): Record<string, unknown> {
    const d: Record<string, unknown> = { name: this.name };
    if (!excludeReleases) d.releases = RELEASES.map((r) => ({ ...r }));
    if (!excludeStemcells) d.stemcells = [{ name: STEMCELL.name, version: STEMCELL.version }];
    if (!excludeConfigs) d.cloud_config = 'none';
    d.teams = [];
    if (!excludeLock) d.locked = false;
    return d;
  }

  manifest(): string {
    const group = (g: string) => this.instances.filter((i) => i.group === g);
    const masters = group('master');
    const workers = group('worker');
    const azs = (l: InstanceModel[]) => [...new Set(l.map((i) => i.az).filter((a): a is string => !!a))];
    const doc = {
      name: this.name,
      releases: RELEASES.map((r) => ({ name: r.name, version: r.version })),
      stemcells: [{ alias: 'default', os: STEMCELL.os, version: STEMCELL.version }],
      update: {
        canaries: 1,
        canary_watch_time: '10000-300000',
        max_in_flight: 1,
        update_watch_time: '10000-300000',
        serial: true,
      },
      features: { use_dns_addresses: true },
      instance_groups: [
        {
          name: 'master',
          instances: masters.length,
          azs: azs(masters),
          networks: [{ name: 'default', static_ips: masters.map((m) => m.ips[0]) }],
          vm_type: masters[0]?.vmType ?? 'medium.disk',
          persistent_disk_type: '10240',
          stemcell: 'default',
          jobs: [
            { name: 'bpm', release: 'bpm' },
            {
              name: 'etcd',
              release: 'cfcr-etcd',
              properties: {
                etcd: { dns_suffix: 'etcd.cfcr.internal' },
                tls: {
                  etcd: { ca: '((tls-etcdctl.ca))' },
                  etcdctl: { certificate: '((tls-etcdctl.certificate))', private_key: '((tls-etcdctl.private_key))' },
                },
              },
            },
            { name: 'kube-apiserver', release: 'kubo' },
            { name: 'bosh-dns', release: 'bosh-dns' },
          ],
        },
        {
          name: 'worker',
          instances: workers.length,
          azs: azs(workers),
          networks: [{ name: 'default' }],
          vm_type: workers[0]?.vmType ?? 'large.disk',
          persistent_disk_type: '51200',
          stemcell: 'default',
          jobs: [
            { name: 'docker', release: 'docker' },
            { name: 'kubelet', release: 'kubo' },
            { name: 'bosh-dns', release: 'bosh-dns' },
          ],
        },
        {
          name: 'apply-addons',
          lifecycle: 'errand',
          instances: 1,
          azs: azs(masters).slice(0, 1),
          networks: [{ name: 'default' }],
          vm_type: 'micro',
          stemcell: 'default',
          jobs: [{ name: 'apply-specs', release: 'kubo' }],
        },
      ],
    };
    return YAML.stringify(doc);
  }
}
