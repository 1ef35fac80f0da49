#!/usr/bin/env node
// `npm run sandbox` (after scripts/setup.sh): the whole product on a simulated PKS cluster.
//
//   npm run sandbox              build + package the extension, start the testbed (.sandbox/testbed,
//                                net 127.0.0 or BOSH_ETCD_SANDBOX_NET), break one master as the runbook
//                                describes (`wipe`),
//                                start code-server on http://127.0.0.1:8080 (or the next free port,
//                                no auth) with the .vsix installed and the testbed's bosh CLI
//                                environment, print the URL; runs until Ctrl-C
//   npm run sandbox -- stop      stop a running sandbox (from another terminal) and remove .sandbox/
//   npm run sandbox -- status    is one running, where, and on which etcd (version, auth)
//
// Ctrl-C or `stop` stops code-server (its whole process group), tears the testbed down (processes,
// mounts, addresses, temporary users) and deletes .sandbox/.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const REPO = path.resolve(__dirname, '..');
process.chdir(REPO);
const SANDBOX = path.join(REPO, '.sandbox');
const STATE = path.join(SANDBOX, 'sandbox.json');
const TB_DIR = path.join(SANDBOX, 'testbed');
const TB_NET = process.env.BOSH_ETCD_SANDBOX_NET || '127.0.0';
const VSIX = path.join(REPO, 'dist-vsix', 'bosh-etcd.vsix');
const log = (s) => console.log(`[sandbox] ${s}`);

function alive(pid) {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
/** Whether `pid` is still the code-server this sandbox started (its command line names the sandbox folder). */
function ours(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(SANDBOX);
  } catch {
    return false;
  }
}
/** Whether `pid` is still a sandbox process (`node scripts/sandbox.js …`), not another that got its number. */
function isSandboxProcess(pid) {
  try {
    return /sandbox\.js/.test(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
  } catch {
    return false;
  }
}
// A recorded pid is signalled as a group only while it is still ours, or once no process has it (then
// only what is left of its own group carries that group id): pids wrap, and a stale one may name
// another process's group.
const mayKillGroup = (pid) => !alive(pid) || ours(pid);
function readState() {
  try {
    return JSON.parse(fs.readFileSync(STATE, 'utf8'));
  } catch {
    return undefined;
  }
}
function step(what, cmd, args, { allowFail = false } = {}) {
  log(what);
  const r = spawnSync(cmd, args, {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0 && !allowFail) {
    process.stderr.write((r.stdout || '').slice(-3000) + (r.stderr || '').slice(-3000));
    throw new Error(`${what} failed (exit ${r.status}): see the output above.`);
  }
  return r;
}
/** One line on the simulated cluster (etcd version, auth, monit cycle, net), from the testbed's state file. */
function describeCluster() {
  let tb;
  try {
    tb = JSON.parse(fs.readFileSync(path.join(TB_DIR, 'testbed.json'), 'utf8'));
  } catch {
    return undefined;
  }
  const etcd = tb.etcd || {};
  const net = (readState() || {}).net || TB_NET;
  const monit = etcd.monitCycleSeconds ? `, monit cycle ${etcd.monitCycleSeconds} s` : '';
  return `etcd ${etcd.version || '(unknown version)'} with auth ${etcd.auth ? 'on' : 'off'}${monit}, testbed on ${net}.x`;
}
async function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/** Stops whatever a previous sandbox left: code-server group, testbed, .sandbox/. */
function cleanup(state) {
  if (state && state.codeServerPid && alive(state.codeServerPid) && ours(state.codeServerPid)) {
    try {
      process.kill(-state.codeServerPid, 'SIGTERM');
    } catch {
      /* gone */
    }
  }
  // The prefix the sandbox was started with, so that `stop` needs no BOSH_ETCD_SANDBOX_NET.
  const net = (state && state.net) || TB_NET;
  if (fs.existsSync(path.join(TB_DIR, 'testbed.json')) || fs.existsSync(TB_DIR)) {
    const cli = path.join(REPO, 'out', 'test', 'testbed', 'harness', 'cli.js');
    if (fs.existsSync(cli)) {
      log('tearing the testbed down …');
      const r = spawnSync(process.execPath, [cli, 'down'], {
        cwd: REPO,
        stdio: 'inherit',
        env: { ...process.env, BOSH_ETCD_TESTBED_DIR: TB_DIR, BOSH_ETCD_TESTBED_NET: net },
      });
      if (r.status !== 0)
        log(
          `testbed down exited ${r.status}; check with: BOSH_ETCD_TESTBED_DIR=${TB_DIR} BOSH_ETCD_TESTBED_NET=${net} npm run testbed -- status`,
        );
    }
  }
  if (state && state.codeServerPid && mayKillGroup(state.codeServerPid)) {
    try {
      process.kill(-state.codeServerPid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  fs.rmSync(SANDBOX, { recursive: true, force: true });
}

async function stop() {
  const state = readState();
  if (!state && !fs.existsSync(SANDBOX)) {
    log('no sandbox is running.');
    return 0;
  }
  if (state && state.pid && state.pid !== process.pid && alive(state.pid) && isSandboxProcess(state.pid)) {
    log(`stopping the sandbox (pid ${state.pid}) …`);
    process.kill(state.pid, 'SIGTERM');
    for (let i = 0; i < 600 && alive(state.pid); i++) await sleep(100);
    if (!alive(state.pid) && !fs.existsSync(SANDBOX)) {
      log('stopped; nothing left behind.');
      return 0;
    }
  }
  cleanup(state);
  log('stopped; nothing left behind.');
  return 0;
}

async function start() {
  const prev = readState();
  if (prev && alive(prev.pid)) {
    log(`a sandbox is already running (pid ${prev.pid}): ${prev.url}`);
    log('stop it with `npm run sandbox -- stop` first.');
    return 1;
  }
  if (prev || fs.existsSync(SANDBOX)) {
    log('cleaning up a sandbox that did not stop cleanly …');
    cleanup(prev);
  }
  if (process.getuid && process.getuid() !== 0) {
    console.error(
      '[sandbox] the simulated cluster needs root (mount namespaces, loopback addresses, sshd per VM): run as root.',
    );
    return 1;
  }

  // Compile (the testbed harness and runners are TypeScript); tsc emits even with type errors elsewhere.
  const tsc = step('compiling (tsc -p .) …', path.join(REPO, 'node_modules', '.bin', 'tsc'), ['-p', '.'], {
    allowFail: true,
  });
  if (tsc.status !== 0)
    log(
      'warning: tsc reported type errors (output above is suppressed; run `npx tsc -p .` to see them); continuing with the emitted JavaScript.',
    );
  step('building and packaging the extension (npm run package) …', 'npm', ['run', '--silent', 'package']);
  if (!fs.existsSync(VSIX)) throw new Error(`npm run package did not produce ${VSIX}`);

  const { testbedUp } = require(path.join(REPO, 'out', 'test', 'runners', 'testbed.js'));
  const { startCodeServer, portOpen } = require(path.join(REPO, 'out', 'test', 'runners', 'codeServer.js'));
  fs.mkdirSync(SANDBOX, { recursive: true });
  const state = { pid: process.pid, testbedDir: TB_DIR, net: TB_NET };
  fs.writeFileSync(STATE, JSON.stringify(state, null, 2));

  let stopping = false;
  let cs;
  const shutdown = async (why) => {
    if (stopping) return;
    stopping = true;
    log(`${why}: stopping code-server and the testbed …`);
    if (cs) await cs.stop({ keep: true }).catch(() => undefined);
    cleanup(readState());
    log('stopped; nothing left behind.');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('Ctrl-C'));
  process.on('SIGTERM', () => void shutdown('stop requested'));
  process.on('SIGHUP', () => void shutdown('terminal closed'));

  try {
    log(`starting the simulated cluster in .sandbox/testbed on ${TB_NET}.x (about 20 s) …`);
    const tb = testbedUp(TB_DIR, TB_NET, [], (s) => log(s.replace(/^\[testbed\] /, '')));
    const masters = tb.state.vms.filter((v) => v.group === 'master').sort((a, b) => a.index - b.index);
    // Break a non-bootstrap master, as in the runbook (the bootstrap one would start a new cluster).
    const victim = masters.filter((m) => !m.bootstrap).pop() || masters[masters.length - 1];
    log(
      `breaking master/${victim.id} (index ${victim.index}) the runbook's way: monit stop etcd, empty /var/vcap/store/etcd, monit start …`,
    );
    tb.cli('break', `master/${victim.id}`, '--mode', 'wipe');

    let port = Number(process.env.BOSH_ETCD_SANDBOX_PORT || 8080);
    while (await portOpen('127.0.0.1', port)) port++;
    const runDir = path.join(SANDBOX, 'code-server');
    const folder = path.join(SANDBOX, 'workspace');
    fs.mkdirSync(folder, { recursive: true });
    fs.writeFileSync(
      path.join(folder, 'README.md'),
      `# BOSH etcd sandbox\n\nDeployment \`${tb.state.deployment}\` on the simulated Director ${tb.state.director.url}.\n` +
        `master/${victim.id} (index ${victim.index}) had its etcd data wiped: its etcd cannot rejoin ("unhealthy cluster").\n\n` +
        `1. Click **BOSH** in the activity bar and expand the environment and the deployment.\n` +
        `2. The failing instance and its etcd member are marked; open the etcd health panel from an etcd node.\n` +
        `3. Right-click the failing member → **Recover etcd Member…** and follow the wizard.\n`,
    );
    log(`installing the extension into code-server and starting it on 127.0.0.1:${port} …`);
    cs = await startCodeServer({
      runDir,
      folder,
      host: '127.0.0.1',
      port,
      installVsix: [VSIX],
      env: tb.env,
      // Keep the demo friendly: workspace trust off (the wizard needs a trusted workspace).
      // The jump host's key, as an operator's ~/.ssh/known_hosts would have it.
      settings: { 'workbench.startupEditor': 'readme', ...tb.settings },
    });
    Object.assign(state, {
      codeServerPid: cs.child.pid,
      url: `${cs.base}/?folder=${encodeURIComponent(folder)}`,
      port,
    });
    fs.writeFileSync(STATE, JSON.stringify(state, null, 2));
    cs.child.on('exit', (code) => {
      if (!stopping) void shutdown(`code-server exited (${code}); its log: ${cs.logFile}`);
    });

    console.log(`
  ┌──────────────────────────────────────────────────────────────────────────────
  │ BOSH etcd sandbox is running:  ${state.url}
  │
  │ Simulated PKS cluster: deployment ${tb.state.deployment}
  │   Director ${tb.state.director.url} (client ${tb.state.director.client}), jump host ${tb.state.jumpHost.host}
  │   ${masters.length} masters; master/${victim.id} (index ${victim.index}) is BROKEN (etcd data wiped)
  │   ${describeCluster()}
  │
  │ Try:
  │   1. Open the URL. Click "BOSH" in the activity bar: environment → deployment → instances.
  │   2. The failing master and its etcd member are marked. Open the etcd health panel.
  │   3. Right-click the failing member → "Recover etcd Member…": pre-flight checks, review,
  │      then each runbook step runs in a terminal over SSH. The tree turns healthy.
  │   Also: F1 → "BOSH etcd: …" lists every command.
  │
  │ Same cluster from a shell:  BOSH_ETCD_TESTBED_DIR=${path.relative(REPO, TB_DIR)} BOSH_ETCD_TESTBED_NET=${TB_NET} npm run testbed -- status
  │ Stop: Ctrl-C here, or \`npm run sandbox -- stop\` from another terminal.
  └──────────────────────────────────────────────────────────────────────────────
`);
    // Stay in the foreground until told to stop.
    await new Promise(() => undefined);
  } catch (e) {
    console.error(`[sandbox] ${e.message}`);
    await shutdown('start failed');
    return 1;
  }
  return 0;
}

const cmd = process.argv[2] || 'start';
const actions = {
  start,
  stop,
  status: async () => {
    const s = readState();
    if (s && alive(s.pid)) {
      log(`running (pid ${s.pid}): ${s.url || '(starting)'}`);
      const cluster = describeCluster();
      if (cluster) log(`cluster: ${cluster}`);
      return 0;
    }
    log(s ? 'not running (a stale .sandbox/ is left; `npm run sandbox -- stop` removes it)' : 'not running');
    return s ? 1 : 0;
  },
};
if (!actions[cmd]) {
  console.error(`usage: npm run sandbox [-- start|stop|status]   (got "${cmd}")`);
  process.exit(2);
}
actions[cmd]().then(
  (c) => {
    if (cmd !== 'start' || c) process.exit(c);
  },
  (e) => {
    console.error(`[sandbox] ${e.stack || e}`);
    process.exit(1);
  },
);
