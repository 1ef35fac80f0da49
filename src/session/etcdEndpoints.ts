// The etcd connection of a deployment: which instances are etcd members, their client URLs, and the
// way to their client ports (the environment's network path, or a tunnel through the SSH connection
// of the master the certificates came from). Plain Node, no `vscode`.
import type { Dialer, InstanceInfo } from '../bosh/types';
import type { RemoteHost } from '../ssh/types';
import { openEtcdCluster, type ClusterEndpointConfig } from '../etcd/cluster';
import { EtcdCluster, EtcdError } from '../etcd/types';
import { withTimeout } from '../util/async';
import { readMasterCertificates } from './etcdCertificates';
import type { SessionOptions } from './types';

export const ETCD_CLIENT_PORT = 2379;

/** The etcd client URL of master <index>, as the CFCR/TKGI etcd job advertises it. */
export function etcdClientUrl(index: number): string {
  return `https://master-${index}.etcd.cfcr.internal:${ETCD_CLIENT_PORT}`;
}

/** Instances that run an etcd member: group 'master', or any instance with an 'etcd' process. */
export function etcdInstances(instances: InstanceInfo[]): InstanceInfo[] {
  return instances
    .filter((i) => i.group === 'master' || i.processes.some((p) => p.name === 'etcd'))
    .sort((a, b) => (a.index ?? 0) - (b.index ?? 0) || a.id.localeCompare(b.id));
}

/** Opens the deployment's etcd endpoints (see the top of this file). */
export async function openDeploymentEtcd(
  deployment: string,
  instances: InstanceInfo[],
  ctx: {
    ssh: (inst: InstanceInfo) => Promise<RemoteHost>;
    /** The environment's network path. */
    dial: Dialer;
    opts: SessionOptions;
    log: (line: string) => void;
  },
): Promise<EtcdCluster> {
  const masters = etcdInstances(instances);
  if (!masters.length) {
    throw new EtcdError(
      'config',
      `Deployment ${deployment} has no etcd instances (instance group 'master' or a process named 'etcd').`,
    );
  }
  const mode = ctx.opts.etcdTunnel ?? 'auto';
  // 'auto': whether the network path reaches a client port is tried while the certificates are
  // read, on the master they are read from first (the running ones first, as readMasterCertificates).
  const probeNetwork = (ip: string) =>
    withTimeout(ctx.dial(ip, ETCD_CLIENT_PORT), 5000, () => new Error('timed out')).then((probe) => {
      probe.on('error', () => undefined);
      probe.destroy();
    });
  const first = [...masters]
    .sort((a, b) => Number(b.processState === 'running') - Number(a.processState === 'running'))
    .find((m) => m.ips.length);
  const early = mode === 'auto' && first ? { ip: first.ips[0], probe: probeNetwork(first.ips[0]) } : undefined;
  early?.probe.catch(() => undefined); // awaited below
  const { certs, via } = await readMasterCertificates(deployment, masters, {
    ssh: ctx.ssh,
    sudo: !ctx.opts.staticSsh,
    log: ctx.log,
    note: ctx.opts.onNote,
  });
  const endpoints: ClusterEndpointConfig[] = masters
    .filter((m) => m.ips.length)
    .map((m, i) => ({
      name: m.id,
      url: etcdClientUrl(m.index ?? i),
      connectHost: m.ips[0],
      connectPort: ETCD_CLIENT_PORT,
    }));
  // Reach the client ports through the environment's network path if it can; otherwise through
  // the SSH connection of the master we read the certificates from.
  const host = via.host;
  const throughSsh: Dialer = (h, p) => host.openStream(h, p);
  let dial: Dialer = ctx.dial;
  if (mode === 'ssh') {
    dial = throughSsh;
    ctx.log(`etcd: tunnelling the client ports through ${host.label}`);
  } else if (mode === 'auto') {
    try {
      await (early?.ip === via.inst.ips[0] ? early.probe : probeNetwork(via.inst.ips[0]));
    } catch (e) {
      ctx.log(
        `etcd: ${via.inst.ips[0]}:${ETCD_CLIENT_PORT} is not reachable on the network path (${(e as Error).message}); tunnelling through ${host.label}`,
      );
      dial = throughSsh;
    }
  }
  return openEtcdCluster({
    endpoints,
    dial,
    ca: certs.ca,
    cert: certs.cert,
    key: certs.key,
    callTimeoutMs: ctx.opts.etcdCallTimeoutMs,
    log: ctx.log,
  });
}
