// Temporary SSH users for `POST /deployments/<d>/ssh` (what the BOSH agent's `ssh` action does).
//
// STAND-IN NOTE: on a real VM the agent runs `useradd` inside that VM. Our "VMs" share the host's
// /etc/passwd, so the user is created host-wide (`useradd -m -G <sudo group> -s /bin/bash`) but its
// public key goes only into the targeted VM's `<vm.dir>/ssh/authorized_keys/<user>` (sshd's
// AuthorizedKeysFile inside the VM's namespace), so it can log in to that VM only. A user is
// deleted (`userdel -f -r`) once no VM holds a key for it any more.
//
// Safety: user names and keys are validated strictly, every command is spawned with an argv (never
// a shell string), and only users this stand-in created can receive keys or be deleted: a setup
// for `root` or `vcap` is refused. The list of created users (names and VM folders, no secrets) is
// kept in `<dir>/ssh-users.json` so that `cleanupDirectorUsers(dir)` can remove them even after a crash.
import { execFile, execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

export const USER_RE = /^[a-z_][a-z0-9_-]{0,30}$/;
const KEY_TYPES = ['ssh-rsa', 'ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521'];

export function validateUser(user: unknown): string {
  if (typeof user !== 'string' || !USER_RE.test(user)) {
    throw new Error(`Invalid user name '${String(user).slice(0, 64)}': expected [a-z_][a-z0-9_-]{0,30}`);
  }
  return user;
}

/** Validates one OpenSSH public key line (`type base64 [comment]`, no options) and returns it with a trailing newline. */
export function validatePublicKey(key: unknown): string {
  if (typeof key !== 'string' || key.length > 16_384)
    throw new Error('Invalid public key: expected one OpenSSH public key line');
  const line = key.replace(/\r?\n$/, '');
  const m = /^([a-z0-9-]+) ([A-Za-z0-9+/]+={0,3})(?: ([\x20-\x7e]*))?$/.exec(line);
  if (!m || !KEY_TYPES.includes(m[1]))
    throw new Error(`Invalid public key: expected '<${KEY_TYPES.join('|')}> <base64> [comment]' on one line`);
  const blob = Buffer.from(m[2], 'base64');
  const len = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
  if (len <= 0 || 4 + len > blob.length || blob.subarray(4, 4 + len).toString('latin1') !== m[1]) {
    throw new Error('Invalid public key: the key blob does not match its type');
  }
  return `${line}\n`;
}

function run(cmd: string, args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 30_000 }, (err, _out, stderr) => {
      const code = err
        ? typeof (err as NodeJS.ErrnoException & { code?: unknown }).code === 'number'
          ? (err as unknown as { code: number }).code
          : 1
        : 0;
      resolve({ code, stderr: String(stderr).trim() || (err ? err.message : '') });
    });
  });
}

async function runRetryingLock(cmd: string, args: string[]): Promise<void> {
  // useradd/userdel exit 10 ("cannot lock /etc/passwd") while another testbed edits it: retry briefly.
  for (let attempt = 0; ; attempt++) {
    const r = await run(cmd, args);
    if (r.code === 0) return;
    if ((r.code === 10 || /lock/i.test(r.stderr)) && attempt < 20) {
      await new Promise((res) => setTimeout(res, 100 + attempt * 50));
      continue;
    }
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.code}): ${r.stderr}`);
  }
}

export function userExists(user: string): boolean {
  try {
    execFileSync('id', ['-u', user], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

interface Record_ {
  user: string;
  vmDirs: string[];
}

const keyFile = (vmDir: string, user: string) => path.join(vmDir, 'ssh', 'authorized_keys', user);

export class SshUserManager {
  private readonly users = new Map<string, Set<string>>();
  /** Serialises all user operations (useradd/userdel and key files). */
  private chain: Promise<unknown> = Promise.resolve();
  private readonly recordFile: string;

  constructor(
    dir: string,
    private readonly sudoGroup: string,
  ) {
    this.recordFile = path.join(dir, 'ssh-users.json');
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn, fn);
    this.chain = p.catch(() => undefined);
    return p;
  }

  private persist(): void {
    const recs: Record_[] = [...this.users].map(([user, dirs]) => ({ user, vmDirs: [...dirs] }));
    fs.writeFileSync(this.recordFile, JSON.stringify(recs, null, 1) + '\n', { mode: 0o600 });
  }

  created(): string[] {
    return [...this.users.keys()];
  }

  /** Creates the user if needed (only if it does not exist yet) and installs the key on each VM. */
  setup(user: string, publicKey: string, vmDirs: string[]): Promise<void> {
    validateUser(user);
    const key = validatePublicKey(publicKey);
    return this.serial(async () => {
      if (!this.users.has(user)) {
        if (userExists(user))
          throw new Error(
            `User '${user}' already exists on the VM and was not created by this Director; refusing to change it`,
          );
        await runRetryingLock('useradd', ['-m', '-G', this.sudoGroup, '-s', '/bin/bash', user]);
        this.users.set(user, new Set());
        this.persist();
      }
      const dirs = this.users.get(user)!;
      for (const vmDir of vmDirs) {
        const f = keyFile(vmDir, user);
        fs.mkdirSync(path.dirname(f), { recursive: true, mode: 0o755 });
        // Root-owned 0644: sshd reads it with the user's privileges and StrictModes accepts root ownership.
        fs.writeFileSync(f, key, { mode: 0o644 });
        fs.chmodSync(f, 0o644);
        dirs.add(vmDir);
      }
      this.persist();
    });
  }

  /** Removes the keys of matching stand-in users from these VMs; deletes users left with no key. Returns the users touched. */
  cleanup(userRegex: RegExp, vmDirs: string[]): Promise<string[]> {
    return this.serial(async () => {
      const touched: string[] = [];
      for (const [user, dirs] of this.users) {
        if (!userRegex.test(user)) continue;
        touched.push(user);
        for (const vmDir of vmDirs) {
          fs.rmSync(keyFile(vmDir, user), { force: true });
          dirs.delete(vmDir);
        }
        if (dirs.size === 0) await this.deleteUser(user);
      }
      this.persist();
      return touched;
    });
  }

  private async deleteUser(user: string): Promise<void> {
    if (userExists(user)) await runRetryingLock('userdel', ['-f', '-r', user]);
    this.users.delete(user);
  }

  /** Removes every user this stand-in created (keys on all VMs, then the user). */
  closeAll(): Promise<void> {
    return this.serial(async () => {
      const errors: string[] = [];
      for (const [user, dirs] of [...this.users]) {
        for (const vmDir of dirs) fs.rmSync(keyFile(vmDir, user), { force: true });
        dirs.clear();
        try {
          await this.deleteUser(user);
        } catch (e) {
          errors.push((e as Error).message);
        }
      }
      this.persist();
      if (errors.length) throw new Error(`Could not remove every temporary SSH user: ${errors.join('; ')}`);
    });
  }

  /** Synchronous last resort for process exit paths. */
  closeAllSync(): void {
    cleanupDirectorUsersFromRecords([...this.users].map(([user, dirs]) => ({ user, vmDirs: [...dirs] })));
    this.users.clear();
    try {
      this.persist();
    } catch {
      /* dir may be gone */
    }
  }
}

function cleanupDirectorUsersFromRecords(recs: Record_[]): string[] {
  const removed: string[] = [];
  for (const r of recs) {
    if (!USER_RE.test(r.user)) continue;
    for (const vmDir of r.vmDirs ?? []) fs.rmSync(keyFile(vmDir, r.user), { force: true });
    if (userExists(r.user)) {
      try {
        execFileSync('userdel', ['-f', '-r', r.user], { stdio: 'ignore' });
      } catch {
        /* best effort: reported by the caller through userExists */
      }
    }
    if (!userExists(r.user)) removed.push(r.user);
  }
  return removed;
}

/**
 * Removes the temporary SSH users a (possibly crashed) Director stand-in recorded in
 * `<dir>/ssh-users.json`. For the harness's `down`, after killing the Director process.
 * Returns the names removed. Safe to call when nothing is recorded.
 */
export function cleanupDirectorUsers(dir: string): string[] {
  const f = path.join(dir, 'ssh-users.json');
  if (!fs.existsSync(f)) return [];
  let recs: Record_[] = [];
  try {
    recs = JSON.parse(fs.readFileSync(f, 'utf8')) as Record_[];
  } catch {
    return [];
  }
  const removed = cleanupDirectorUsersFromRecords(Array.isArray(recs) ? recs : []);
  fs.writeFileSync(f, '[]\n', { mode: 0o600 });
  return removed;
}
