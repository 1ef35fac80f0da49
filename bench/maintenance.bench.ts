// Rolling defragmentation of 3 fragmented members, same testbed, same data, pause 0:
//   baseline:  what an operator would script: ONE plain ssh to a master running etcdctl defrag for
//              each member's endpoint, followers first and the leader last, one after the other;
//   candidate: the tool as the CLI runs it: open the deployment from the bosh env vars (Director,
//              bosh-ssh setup, certificates, tunnels), observe, plan, then per member the health
//              check, the visible `etcdctl defrag` on that member's VM, health and raft index
//              caught up before the next.
// Before each call (not timed) the churn filler writes BOSH_ETCD_BENCH_DEFRAG_MB (default 48) MB of
// overwrites, deletes them and compacts: every member's file is then ~50 MB, over 90 % free pages.
// Sized so the whole benchmark (warm-up + 3 iterations of each) runs in under a minute here; the
// issue's figure (3 × 300 MB, 60 % fragmented) is BOSH_ETCD_BENCH_DEFRAG_MB=300 with keys that stay.
import * as os from 'os';
import * as path from 'path';
import {
  boshCliEnv,
  masters,
  readTestbedState,
  type TestbedState,
  type TestbedVm,
} from '../test/testbed/harness/index';
import { churnEtcd } from '../test/testbed/harness/fill';
import { ssh } from '../test/testbed/harness/openssh';
import { etcdctlIn } from '../test/testbed/harness/index';
import { openDeploymentFromEnv } from '../src/session/session';
import type { DeploymentSession } from '../src/session/types';
import { defragCluster } from '../src/maintenance';

const MB = Number(process.env.BOSH_ETCD_BENCH_DEFRAG_MB || 48);
const TX = path.join(os.tmpdir(), 'bosh-etcd-bench-transcripts');

async function fragment(s: TestbedState): Promise<void> {
  await churnEtcd(s, { mb: MB });
}

/** Followers first, the leader last: the order the operator's script uses too. */
async function order(s: TestbedState): Promise<TestbedVm[]> {
  const r = await etcdctlIn(masters(s)[0], 'endpoint status -w json');
  const rows = JSON.parse(r.stdout) as {
    Endpoint: string;
    Status: { leader: string; header: { member_id: string } };
  }[];
  const leaderUrl = rows.find((x) => String(x.Status.leader) === String(x.Status.header.member_id))!.Endpoint;
  const ms = masters(s);
  return [...ms.filter((m) => m.etcdClientUrl !== leaderUrl), ...ms.filter((m) => m.etcdClientUrl === leaderUrl)];
}

function script(members: TestbedVm[]): string {
  const C = '/var/vcap/jobs/etcd/config';
  const etcdctl = `ETCDCTL_API=3 /usr/bin/etcdctl --cacert ${C}/etcdctl-ca.crt --cert ${C}/etcdctl.crt --key ${C}/etcdctl.key --command-timeout=300s`;
  return ['set -e', ...members.map((m) => `${etcdctl} --endpoints ${m.etcdClientUrl} defrag`)].join('\n');
}

/** The baseline both entries share. */
async function operatorScript(): Promise<number> {
  const s = readTestbedState();
  await fragment(s);
  const members = await order(s);
  const t0 = Date.now();
  const r = await ssh(s, masters(s)[0], `sudo bash -c '${script(members).replace(/'/g, `'\\''`)}'`, 300_000);
  const ms = Date.now() - t0;
  if (r.code !== 0) throw new Error(`defrag script failed (${r.code}): ${r.stderr}`);
  return ms;
}

let warm: DeploymentSession | undefined;

export const benchmarks = [
  {
    name: `rolling defragmentation of 3 members (~${MB} MB each, >90 % fragmented, pause 0): the tool via bosh env vars vs etcdctl defrag per member over one plain ssh`,
    iterations: 3,
    needsTestbed: true,
    baseline: async (): Promise<number> => {
      const s = readTestbedState();
      await fragment(s);
      const members = await order(s);
      const t0 = Date.now();
      const r = await ssh(s, masters(s)[0], `sudo bash -c '${script(members).replace(/'/g, `'\\''`)}'`, 300_000);
      const ms = Date.now() - t0;
      if (r.code !== 0) throw new Error(`defrag script failed (${r.code}): ${r.stderr}`);
      return ms;
    },
    candidate: async (): Promise<number> => {
      const s = readTestbedState();
      await fragment(s);
      const t0 = Date.now();
      const session = openDeploymentFromEnv(boshCliEnv(s), { gatewayKnownHostsPath: s.staticSsh.knownHostsPath });
      try {
        const res = await defragCluster(session, { yes: true, pauseMs: 0, transcriptDir: TX });
        if (res.outcome !== 'done' || res.members.some((m) => m.outcome !== 'defragmented'))
          throw new Error(`defrag: ${res.outcome}: ${res.message}`);
      } finally {
        await session.dispose();
      }
      return Date.now() - t0;
    },
  },
  {
    // The panel's case: the extension already holds the deployment's session (SSH, certificates,
    // tunnels), so only the flow itself is timed.
    name: `rolling defragmentation of 3 members (~${MB} MB each, pause 0), session already open (the panel's button): the tool vs etcdctl defrag per member over one plain ssh`,
    iterations: 3,
    needsTestbed: true,
    async setup() {
      const s = readTestbedState();
      warm = openDeploymentFromEnv(boshCliEnv(s), { gatewayKnownHostsPath: s.staticSsh.knownHostsPath });
      await warm.etcd();
    },
    async teardown() {
      await warm?.dispose();
    },
    baseline: operatorScript,
    candidate: async (): Promise<number> => {
      await fragment(readTestbedState());
      const t0 = Date.now();
      const res = await defragCluster(warm!, { yes: true, pauseMs: 0, transcriptDir: TX });
      if (res.outcome !== 'done' || res.members.some((m) => m.outcome !== 'defragmented'))
        throw new Error(`defrag: ${res.outcome}: ${res.message}`);
      return Date.now() - t0;
    },
  },
];
