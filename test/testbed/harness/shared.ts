// Host-wide things every testbed needs (users and sudo are not per mount namespace): group
// bosh_sudoers with its sudoers file (like the BOSH agent), vcap in that group, the jump-host user.
// Several testbeds may be up at once, so they are reference-counted under /run: the first testbed
// up creates what is missing (and records what it created), the last one down removes exactly that.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { run, sleep } from './sh';

export const SHARED_DIR = '/run/bosh-etcd-testbed';
const LOCK = path.join(SHARED_DIR, 'lock');
const REFS = path.join(SHARED_DIR, 'refs');
const CREATED = path.join(SHARED_DIR, 'created.json');
export const SUDOERS_FILE = '/etc/sudoers.d/bosh_sudoers';
export const SUDO_GROUP = 'bosh_sudoers';
export const JUMP_USER = 'ubuntu';
export const STATIC_USER = 'vcap';

interface Created {
  vcapUser?: boolean;
  group?: boolean;
  sudoers?: boolean;
  vcapInGroup?: boolean;
  jumpUser?: boolean;
}

async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  fs.mkdirSync(SHARED_DIR, { recursive: true, mode: 0o700 });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      fs.mkdirSync(LOCK);
      fs.writeFileSync(path.join(LOCK, 'pid'), String(process.pid));
      break;
    } catch (e: any) {
      if (e.code !== 'EEXIST') throw e;
      // steal a lock whose holder died
      let holder = 0;
      try {
        holder = Number(fs.readFileSync(path.join(LOCK, 'pid'), 'utf8'));
      } catch {
        /* being written */
      }
      if (holder && !alive(holder)) {
        fs.rmSync(LOCK, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline)
        throw new Error(`Could not take the testbed lock ${LOCK} (held by pid ${holder}) within 30 s.`);
      await sleep(50);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(LOCK, { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e: any) {
    return e.code === 'EPERM';
  }
}

const refFile = (dir: string) => path.join(REFS, crypto.createHash('sha1').update(dir).digest('hex'));

/** Refs of testbeds whose folder is gone (crashed or deleted by hand) no longer count. */
function liveRefs(): string[] {
  fs.mkdirSync(REFS, { recursive: true });
  const out: string[] = [];
  for (const f of fs.readdirSync(REFS)) {
    const dir = fs.readFileSync(path.join(REFS, f), 'utf8');
    if (fs.existsSync(path.join(dir, '.bosh-etcd-testbed'))) out.push(dir);
    else fs.rmSync(path.join(REFS, f), { force: true });
  }
  return out;
}

async function exists(kind: 'passwd' | 'group', name: string) {
  return (await run('getent', [kind, name], { allowFail: true })).code === 0;
}

async function inGroup(user: string, group: string) {
  const r = await run('id', ['-nG', user], { allowFail: true });
  return r.code === 0 && r.stdout.trim().split(/\s+/).includes(group);
}

export async function acquireShared(dir: string): Promise<void> {
  await withLock(async () => {
    const refs = liveRefs();
    let created: Created = {};
    try {
      created = JSON.parse(fs.readFileSync(CREATED, 'utf8'));
    } catch {
      /* first */
    }
    if (!(await exists('passwd', STATIC_USER))) {
      // normally scripts/setup.sh creates it; a locked password like a stemcell's
      await run('useradd', ['-m', '-s', '/bin/bash', STATIC_USER]);
      created.vcapUser = true;
    }
    if (!(await exists('group', SUDO_GROUP))) {
      await run('groupadd', ['--system', SUDO_GROUP]);
      created.group = true;
    }
    if (!fs.existsSync(SUDOERS_FILE)) {
      fs.writeFileSync(SUDOERS_FILE, `%${SUDO_GROUP} ALL=(ALL) NOPASSWD: ALL\n`, { mode: 0o440 });
      created.sudoers = true;
    }
    if (!(await inGroup(STATIC_USER, SUDO_GROUP))) {
      await run('usermod', ['-aG', SUDO_GROUP, STATIC_USER]);
      created.vcapInGroup = true;
    }
    if (!(await exists('passwd', JUMP_USER))) {
      await run('useradd', ['-m', '-s', '/bin/bash', JUMP_USER]);
      created.jumpUser = true;
    }
    if (!fs.existsSync('/run/sshd')) fs.mkdirSync('/run/sshd', { mode: 0o755 });
    if (!fs.existsSync('/var/vcap')) fs.mkdirSync('/var/vcap', { mode: 0o755 });
    fs.writeFileSync(CREATED, JSON.stringify(created));
    if (!refs.includes(dir)) fs.writeFileSync(refFile(dir), dir);
  });
}

/** Drops this testbed's reference; the last one removes what the testbeds created. */
export async function releaseShared(dir: string): Promise<void> {
  if (!fs.existsSync(SHARED_DIR)) return;
  await withLock(async () => {
    fs.rmSync(refFile(dir), { force: true });
    const refs = liveRefs().filter((d) => d !== dir);
    if (refs.length > 0) return;
    let created: Created = {};
    try {
      created = JSON.parse(fs.readFileSync(CREATED, 'utf8'));
    } catch {
      /* nothing recorded */
    }
    if (created.jumpUser) await run('userdel', ['-r', '-f', JUMP_USER], { allowFail: true });
    if (created.vcapInGroup && !created.group)
      await run('gpasswd', ['-d', STATIC_USER, SUDO_GROUP], { allowFail: true });
    if (created.sudoers) fs.rmSync(SUDOERS_FILE, { force: true });
    if (created.group) await run('groupdel', [SUDO_GROUP], { allowFail: true });
    if (created.vcapUser) await run('userdel', ['-r', '-f', STATIC_USER], { allowFail: true });
    fs.rmSync(CREATED, { force: true });
    fs.rmSync(REFS, { recursive: true, force: true });
  });
  // the lock is gone now; remove the folder if nobody raced in
  try {
    fs.rmdirSync(SHARED_DIR);
  } catch {
    /* another testbed took the lock meanwhile */
  }
}
