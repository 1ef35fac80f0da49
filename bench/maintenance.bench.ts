// Rolling defragmentation at the issue's size: 3 members × ~300 MB, ~60 % fragmented, pause 0:
//   baseline:  what an operator would script: `etcdctl defrag` for each member's endpoint, followers
//              first and the leader last, one after the other, in ONE script over ONE ssh to a master.
//              Cold, that ssh is what an operator of a BOSH cluster types, `bosh -d D ssh master/<id>
//              -c '<script>'`, from the same bosh env vars as the tool: the jump host (BOSH_ALL_PROXY),
//              the Director's /info and token, one ssh setup task, the SSH handshake, the script, and at
//              the end the cleanup asked for without waiting for its task (as the bosh CLI does, and as
//              the tool does). The "plain ssh" entries use the testbed's static key over OpenSSH instead
//              (no jump host, no Director): a lower bound no BOSH operator has (bosh ssh's setup is what
//              a Director-provisioned user costs);
//   candidate: the tool as the CLI runs it: open the deployment from the bosh env vars (Director,
//              bosh-ssh setup, certificates, tunnels), observe, plan, then per member the health
//              check, the visible `etcdctl defrag` on that member's VM, health and raft index
//              caught up before the next (the session's close, i.e. asking the Director to clean up
//              the temporary users, included).
// The data (not timed): once per testbed, BOSH_ETCD_BENCH_DEFRAG_MB × 40 % of keys that stay (1 MiB
// values, few requests); before each call the churn filler writes BOSH_ETCD_BENCH_DEFRAG_MB × 60 % of
// overwrites, deletes them and compacts: every member's file is then ~BOSH_ETCD_BENCH_DEFRAG_MB
// (default 300) MB, ~60 % of it free pages, and each defragmentation copies the ~40 % in use.
//
// NOSPACE recovery end to end, on a testbed of its own with a 24 MiB quota (testbedOptions): before
// each call (not timed) the churn filler writes until etcd raises the NOSPACE alarm;
//   baseline:  etcd's maintenance guide as one script over one ssh to a master (bosh ssh cold, as
//              above; plain ssh for the lower bound and the warm entry), with the job's etcdctl
//              wrapper: the current revision (LOCAL=true: that member's status), compaction to
//              it, defrag (the wrapper lists every member's endpoint, so etcdctl defragments each in
//              turn: over one connection LOCAL=true would reach only the member of that VM), alarm
//              disarm, and a put that must be accepted;
//   candidate: recoverNospace as the CLI runs it, from the bosh env vars (session setup included):
//              observe, plan, compaction, rolling defragmentation with checks, disarm, test write.
import * as os from 'os';
import * as path from 'path';
import {
  boshCliEnv,
  masters,
  readTestbedState,
  type TestbedState,
  type TestbedVm,
} from '../test/testbed/harness/index';
import { churnEtcd, fillEtcd } from '../test/testbed/harness/fill';
import { ssh } from '../test/testbed/harness/openssh';
import { etcdctlIn } from '../test/testbed/harness/index';
import { openDeploymentFromEnv } from '../src/session/session';
import { requireEnvironment } from '../src/bosh/config';
import { createDirectorClient } from '../src/bosh/director';
import { openBoshSsh } from '../src/ssh/boshSsh';
import { createGatewayDialer } from '../src/ssh/gateway';
import type { DeploymentSession } from '../src/session/types';
import { defragCluster, recoverNospace } from '../src/maintenance';

const MB = Number(process.env.BOSH_ETCD_BENCH_DEFRAG_MB || 300);
const FRAGMENTED = 0.6;
const VALUE = 1024 * 1024;
const LIVE_PREFIX = '/bench/live/';
/** Set by bench/index.ts (per testbed net). */
const TX = process.env.BOSH_ETCD_BENCH_TRANSCRIPTS || path.join(os.tmpdir(), 'bosh-etcd-bench-transcripts');
/** Testbeds (by deployment) that hold the live keys already. */
const withLiveData = new Set<string>();
/** Testbeds whose figures were printed. */
const reported = new Set<string>();

/**
 * Untimed preparation, tried again after a pause when it fails: on a machine this loaded the filler's
 * etcd3 client (retries and circuit breaker on) may give up while a member catches up.
 */
async function untimed<T>(f: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await f();
    } catch (e) {
      if (attempt >= 3) throw e;
      console.log(`\n[bench] preparation failed (${(e as Error).message}); again in 5 s`);
      await new Promise((r) => setTimeout(r, 5000));
    }
  }
}

async function fragment(s: TestbedState): Promise<void> {
  if (!withLiveData.has(s.deployment)) {
    await fillEtcd(s, MB * (1 - FRAGMENTED), VALUE, LIVE_PREFIX);
    withLiveData.add(s.deployment);
  }
  // 4 churn keys: the compaction keeps their last values until the next one, so they add ~4 MiB in use
  await untimed(() => churnEtcd(s, { mb: MB * FRAGMENTED, valueBytes: VALUE, keys: 4 }));
  if (!reported.has(s.deployment)) {
    reported.add(s.deployment);
    const r = await etcdctlIn(masters(s)[0], 'endpoint status -w json');
    const rows = JSON.parse(r.stdout) as { Status: { dbSize: number; dbSizeInUse: number } }[];
    const mb = (n: number) => (n / 1024 / 1024).toFixed(0);
    console.log(
      `\n[bench] fragmented: ${rows.map((x) => `${mb(x.Status.dbSize)} MiB (${mb(x.Status.dbSizeInUse)} in use, ${Math.round((1 - x.Status.dbSizeInUse / x.Status.dbSize) * 100)} % free)`).join('; ')}`,
    );
  }
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
  // the root certificate, as the job's wrapper uses for v3: with auth on, etcdctl.crt (CN etcdClient) may not defragment
  const etcdctl = `ETCDCTL_API=3 /var/vcap/packages/etcd/bin/etcdctl --cacert ${C}/etcdctl-ca.crt --cert ${C}/etcdctl-root.crt --key ${C}/etcdctl-root.key --command-timeout=300s`;
  return ['set -e', ...members.map((m) => `${etcdctl} --endpoints ${m.etcdClientUrl} defrag`)].join('\n');
}

/** One script as root over one plain OpenSSH connection (static key): its time, connection included. */
async function overPlainSsh(s: TestbedState, vm: TestbedVm, text: string): Promise<number> {
  const t0 = Date.now();
  const r = await ssh(s, vm, `sudo bash -c '${text.replace(/'/g, `'\\''`)}'`, 300_000);
  const ms = Date.now() - t0;
  if (r.code !== 0) throw new Error(`script failed (${r.code}): ${r.stderr}`);
  return ms;
}

/** The bosh CLI keeps no record of its temporary users and does not wait for their cleanup. */
const NO_RECORD = { record: () => undefined, forget: () => undefined, cleanupRequested: () => undefined };

/**
 * One script as root over one `bosh ssh` (`bosh -d D ssh master/<id> -c …`) from the bosh env vars:
 * jump host, Director /info and token, the ssh setup task, the handshake, the script, then the
 * cleanup asked for without waiting for its task, as the bosh CLI does (src/ssh/boshSsh.ts does the
 * same for the tool).
 */
async function overBoshSsh(s: TestbedState, vm: TestbedVm, text: string): Promise<number> {
  const t0 = Date.now();
  const env = requireEnvironment({ env: boshCliEnv(s) });
  const gw = await createGatewayDialer(env.gateway, { knownHostsPath: s.staticSsh.knownHostsPath });
  const director = createDirectorClient(env, { dial: gw.dial, onTokens: null });
  try {
    const h = await openBoshSsh({
      director,
      deployment: s.deployment,
      instance: { group: 'master', id: vm.id },
      dial: gw.dial,
      tempUsers: NO_RECORD,
    });
    let r;
    try {
      r = await h.exec(text, { sudo: true, timeoutMs: 300_000 });
    } finally {
      await h.dispose();
    }
    const ms = Date.now() - t0;
    if (r.code !== 0) throw new Error(`script failed (${r.code}): ${r.stderr}`);
    return ms;
  } finally {
    director.dispose();
    await gw.dispose();
  }
}

type Over = typeof overPlainSsh;

/** The defragmentation baseline: fragment (not timed), then the operator's script over `over`. */
const operatorScript = (over: Over) => async (): Promise<number> => {
  const s = readTestbedState();
  await fragment(s);
  const members = await order(s);
  return over(s, masters(s)[0], script(members));
};

let warm: DeploymentSession | undefined;

const NOSPACE_QUOTA_MB = 24;

async function toNospace(s: TestbedState): Promise<void> {
  const fill = await untimed(() => churnEtcd(s, { mb: NOSPACE_QUOTA_MB * 8, untilNospace: true }));
  if (!fill.nospace) throw new Error('the churn filler did not reach NOSPACE');
}

/** etcd's maintenance guide (compact, defrag, disarm, put), with the job's etcdctl wrapper. */
function nospaceGuideScript(): string {
  const E = 'ETCDCTL_API=3 /var/vcap/jobs/etcd/bin/etcdctl';
  return `set -e
rev=$(LOCAL=true ${E} endpoint status -w json | grep -o '"revision":[0-9]*' | grep -o '[0-9]*$')
${E} compaction --physical $rev
${E} --command-timeout=300s defrag
${E} alarm disarm
${E} put /bench/after-nospace 123
`;
}

/** The NOSPACE baseline: reach NOSPACE (not timed), then the guide's script over `over`. */
const nospaceGuide = (over: Over) => async (): Promise<number> => {
  const s = readTestbedState();
  await toNospace(s);
  const ms = await over(s, masters(s)[0], nospaceGuideScript());
  const alarms = (await etcdctlIn(masters(s)[0], 'alarm list', { local: true })).stdout.trim();
  if (alarms) throw new Error(`alarm left after the script: ${alarms}`);
  return ms;
};

async function defragCold(): Promise<number> {
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
}

async function nospaceCold(): Promise<number> {
  const s = readTestbedState();
  await toNospace(s);
  const t0 = Date.now();
  const session = openDeploymentFromEnv(boshCliEnv(s), { gatewayKnownHostsPath: s.staticSsh.knownHostsPath });
  try {
    const res = await recoverNospace(session, { yes: true, pauseMs: 0, transcriptDir: TX });
    if (res.outcome !== 'done' || !res.disarmed || !res.writeTestOk)
      throw new Error(`recover-nospace: ${res.outcome}: ${res.message} ${res.advice ?? ''}`);
  } finally {
    await session.dispose();
  }
  return Date.now() - t0;
}

/** The panel's case: the extension already holds the deployment's session (SSH, certificates, tunnels). */
const openWarm = async (): Promise<void> => {
  const s = readTestbedState();
  warm = openDeploymentFromEnv(boshCliEnv(s), { gatewayKnownHostsPath: s.staticSsh.knownHostsPath });
  await warm.etcd();
};
const closeWarm = async (): Promise<void> => {
  await warm?.dispose();
};

export const benchmarks = [
  {
    name: `rolling defragmentation of 3 members (~${MB} MB each, ~60 % fragmented, pause 0), cold: the tool via bosh env vars vs etcdctl defrag per member in one script over one bosh ssh`,
    iterations: 3,
    needsTestbed: true,
    baseline: operatorScript(overBoshSsh),
    candidate: defragCold,
  },
  {
    name: `rolling defragmentation of 3 members (~${MB} MB each, ~60 % fragmented, pause 0), cold: the tool via bosh env vars vs the same script over one plain ssh (static key, no jump host: lower bound)`,
    iterations: 3,
    needsTestbed: true,
    baseline: operatorScript(overPlainSsh),
    candidate: defragCold,
  },
  {
    name: `rolling defragmentation of 3 members (~${MB} MB each, ~60 % fragmented, pause 0), session already open (the panel's button): the tool vs etcdctl defrag per member over one plain ssh`,
    iterations: 3,
    needsTestbed: true,
    setup: openWarm,
    teardown: closeWarm,
    baseline: operatorScript(overPlainSsh),
    candidate: async (): Promise<number> => {
      await fragment(readTestbedState());
      const t0 = Date.now();
      const res = await defragCluster(warm!, { yes: true, pauseMs: 0, transcriptDir: TX });
      if (res.outcome !== 'done' || res.members.some((m) => m.outcome !== 'defragmented'))
        throw new Error(`defrag: ${res.outcome}: ${res.message}`);
      return Date.now() - t0;
    },
  },
  {
    name: `NOSPACE recovery end to end (${NOSPACE_QUOTA_MB} MiB quota, 3 members), cold: recoverNospace via bosh env vars vs the etcd guide's compact/defrag/disarm/put as one script over one bosh ssh`,
    iterations: 3,
    needsTestbed: true,
    testbedOptions: { quotaMb: NOSPACE_QUOTA_MB },
    baseline: nospaceGuide(overBoshSsh),
    candidate: nospaceCold,
  },
  {
    name: `NOSPACE recovery end to end (${NOSPACE_QUOTA_MB} MiB quota, 3 members), cold: recoverNospace via bosh env vars vs the same script over one plain ssh (static key, no jump host: lower bound)`,
    iterations: 3,
    needsTestbed: true,
    testbedOptions: { quotaMb: NOSPACE_QUOTA_MB },
    baseline: nospaceGuide(overPlainSsh),
    candidate: nospaceCold,
  },
  {
    name: `NOSPACE recovery (${NOSPACE_QUOTA_MB} MiB quota), session already open (the panel's button): recoverNospace vs the etcd guide's script over one plain ssh`,
    iterations: 3,
    needsTestbed: true,
    testbedOptions: { quotaMb: NOSPACE_QUOTA_MB },
    setup: openWarm,
    teardown: closeWarm,
    baseline: nospaceGuide(overPlainSsh),
    candidate: async (): Promise<number> => {
      await toNospace(readTestbedState());
      const t0 = Date.now();
      const res = await recoverNospace(warm!, { yes: true, pauseMs: 0, transcriptDir: TX });
      if (res.outcome !== 'done' || !res.disarmed || !res.writeTestOk)
        throw new Error(`recover-nospace: ${res.outcome}: ${res.message} ${res.advice ?? ''}`);
      return Date.now() - t0;
    },
  },
];
