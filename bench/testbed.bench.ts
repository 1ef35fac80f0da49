// What the testbed itself costs: `up` (3 masters) and `down` of test/testbed/harness, each timed on
// its own (self-measured ms), against bringing up / killing 3 bare etcd 3.4 processes in one cluster
// (/usr/bin/etcd, plain http, a temp data dir each) — i.e. the overhead of the testbed (PKI, sshd,
// monit, mount namespaces, Director stand-in, TLS etcd job) over bare etcd.
// The targets: up under 20 s, down under 5 s.
// Own testbed on net 127.0.30 (temp dir), bare etcds on 127.0.31.11-13; no needsTestbed.
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { down, up } from '../test/testbed/harness';

const TB_NET = '127.0.30';
const BARE_NET = '127.0.31';
const N = 3;

const now = (): bigint => process.hrtime.bigint();
const msSince = (t0: bigint): number => Number(now() - t0) / 1e6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------- bare etcd baseline

interface Bare {
  procs: ChildProcess[];
  dirs: string[];
}

function healthy(ip: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: ip, port: 2379, path: '/health', timeout: 1000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(res.statusCode === 200 && /"health":\s*"true"/.test(body)));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

async function bareUp(): Promise<Bare> {
  const b: Bare = { procs: [], dirs: [] };
  try {
    const ips = Array.from({ length: N }, (_, i) => `${BARE_NET}.${11 + i}`);
    const cluster = ips.map((ip, i) => `bare${i}=http://${ip}:2380`).join(',');
    const token = `bench-${process.pid}-${Date.now()}`;
    ips.forEach((ip, i) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), `bosh-etcd-bench-bare${i}-`));
      b.dirs.push(dir);
      const p = spawn(
        '/usr/bin/etcd',
        [
          '--name',
          `bare${i}`,
          '--data-dir',
          dir,
          '--listen-client-urls',
          `http://${ip}:2379`,
          '--advertise-client-urls',
          `http://${ip}:2379`,
          '--listen-peer-urls',
          `http://${ip}:2380`,
          '--initial-advertise-peer-urls',
          `http://${ip}:2380`,
          '--initial-cluster',
          cluster,
          '--initial-cluster-state',
          'new',
          '--initial-cluster-token',
          token,
        ],
        { stdio: 'ignore' },
      );
      p.on('error', () => {
        /* reported by the health wait timing out */
      });
      b.procs.push(p);
    });
    const deadline = Date.now() + 60_000;
    for (const ip of ips) {
      while (!(await healthy(ip))) {
        if (Date.now() > deadline) throw new Error(`bare etcd on ${ip} not healthy within 60 s`);
        if (b.procs.some((p) => p.exitCode !== null || p.signalCode !== null))
          throw new Error('a bare etcd exited during start-up');
        await sleep(50);
      }
    }
    return b;
  } catch (e) {
    await bareDown(b);
    throw e;
  }
}

async function bareDown(b: Bare): Promise<void> {
  const exited = (p: ChildProcess) => p.exitCode !== null || p.signalCode !== null;
  await Promise.all(
    b.procs.map(async (p) => {
      if (exited(p)) return;
      const gone = new Promise<void>((r) => p.once('exit', () => r()));
      p.kill('SIGKILL'); // as the harness's down() does (killVms); SIGTERM to all 3 at once stalls ~5 s
      await gone;
    }),
  );
  for (const d of b.dirs) fs.rmSync(d, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------- testbed candidate

const tbDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'bosh-etcd-bench-tb-'));

async function tbUp(dir: string): Promise<void> {
  try {
    await up({ dir, net: TB_NET, masters: 3 });
  } catch (e) {
    await down({ dir, net: TB_NET }).catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

async function tbDown(dir: string): Promise<void> {
  try {
    await down({ dir, net: TB_NET });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true }); // already removed by down unless it failed
  }
}

export const benchmarks = [
  {
    name: 'testbed up, 3 masters (target < 20 s): harness up() vs 3 bare etcd 3.4 processes healthy',
    iterations: 3,
    async baseline(): Promise<number> {
      const t0 = now();
      const b = await bareUp();
      const ms = msSince(t0);
      await bareDown(b);
      return ms;
    },
    async candidate(): Promise<number> {
      const dir = tbDir();
      const t0 = now();
      await tbUp(dir);
      const ms = msSince(t0);
      await tbDown(dir);
      return ms;
    },
  },
  {
    name: 'testbed down, 3 masters (target < 5 s): harness down() vs SIGKILL of 3 bare etcds + rm data dirs',
    iterations: 3,
    async baseline(): Promise<number> {
      const b = await bareUp();
      const t0 = now();
      await bareDown(b);
      return msSince(t0);
    },
    async candidate(): Promise<number> {
      const dir = tbDir();
      await tbUp(dir);
      const t0 = now();
      await tbDown(dir);
      return msSince(t0);
    },
  },
];
