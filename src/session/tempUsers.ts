// A local record of the temporary `bosh_*` users (with sudo) the Director creates on VMs for our SSH
// connections. A user is recorded before the Director is asked to create it and forgotten only
// after the Director cleaned it up, so a run that was killed (or whose setup failed half way)
// leaves a record, and the next session for that deployment asks the Director to clean those users
// up. Plain Node, no `vscode`.
//
// At the end of a connection the cleanup is asked for without waiting for the Director's task (as
// `bosh ssh` does): the record then keeps the task ids, and the next session for that deployment
// forgets it once the Director shows those tasks done, or cleans up again when one did not succeed.
//
// One JSON file per user in a private folder (0700, files 0600): processes that share the folder
// (the extension and the CLI) never rewrite each other's records.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { sameUrl } from '../util/url';

/** Default folder: ~/.bosh-etcd/temp-users (BOSH_ETCD_TEMP_USERS_DIR overrides it). */
export function defaultTempUsersDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.BOSH_ETCD_TEMP_USERS_DIR || path.join(os.homedir(), '.bosh-etcd', 'temp-users');
}

export interface TempUserRecord {
  /** The Director's URL (names the environment). */
  environment: string;
  deployment: string;
  /** The instance the user was created on. */
  group: string;
  instanceId: string;
  user: string;
  /** ISO 8601. */
  created: string;
  /** The process that created it, on which workstation (a record of a live process is not touched). */
  pid: number;
  workstation: string;
  /** The Director's cleanup tasks, once asked for (not waited for). */
  cleanupTasks?: number[];
  /** Cleanups asked for by later sessions that did not succeed (src/session/tempUserSweep.ts gives up after a few). */
  failedCleanups?: number;
}

const USER = /^bosh_[0-9a-z]{1,26}$/;

export class TempUserRegistry {
  constructor(readonly dir: string = defaultTempUsersDir()) {}

  private file(user: string): string {
    if (!USER.test(user)) throw new Error(`Not a temporary SSH user name: ${JSON.stringify(user)}`);
    return path.join(this.dir, `${user}.json`);
  }

  /** Records the user before the Director creates it. Synchronous: done before anything else can fail. */
  record(r: Omit<TempUserRecord, 'created' | 'pid' | 'workstation'>): void {
    const full: TempUserRecord = {
      ...r,
      created: new Date().toISOString(),
      pid: process.pid,
      workstation: os.hostname(),
    };
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const f = this.file(r.user);
    const tmp = `${f}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(full) + '\n', { mode: 0o600 });
    fs.renameSync(tmp, f);
  }

  /** The Director accepted the user's cleanup (tasks `taskIds`): kept until a later session sees them done. */
  cleanupRequested(user: string, taskIds: number[]): void {
    this.update(user, (r) => ({ ...r, cleanupTasks: taskIds }));
  }

  /** A cleanup of the user did not succeed; returns how many have not (0 when there is no record). */
  cleanupFailed(user: string): number {
    let n = 0;
    this.update(user, (r) => {
      n = (r.failedCleanups ?? 0) + 1;
      return { ...r, failedCleanups: n };
    });
    return n;
  }

  private update(user: string, change: (r: TempUserRecord) => TempUserRecord): void {
    const f = this.file(user);
    let r: TempUserRecord;
    try {
      r = JSON.parse(fs.readFileSync(f, 'utf8')) as TempUserRecord;
    } catch {
      return; // no record (forgotten meanwhile): nothing to keep
    }
    const tmp = `${f}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(change(r)) + '\n', { mode: 0o600 });
    fs.renameSync(tmp, f);
  }

  /** Forgets the user once the Director cleaned it up. */
  forget(user: string): void {
    fs.rmSync(this.file(user), { force: true });
  }

  list(): TempUserRecord[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch {
      return [];
    }
    const out: TempUserRecord[] = [];
    for (const n of names) {
      if (!n.endsWith('.json')) continue;
      try {
        const r = JSON.parse(fs.readFileSync(path.join(this.dir, n), 'utf8')) as TempUserRecord;
        if (r && typeof r.user === 'string' && USER.test(r.user) && `${r.user}.json` === n) out.push(r);
      } catch {
        /* half-written or foreign: ignored */
      }
    }
    return out;
  }

  /**
   * Records of this environment and deployment left by processes that no longer run on this
   * workstation (a killed run, a crashed window), and those whose cleanup was asked for (to check
   * its tasks). Records of live processes still using their user, or of another workstation sharing
   * the home folder, are not ours to clean.
   */
  leftovers(environment: string, deployment: string): TempUserRecord[] {
    return this.environmentLeftovers(environment).filter((r) => r.deployment === deployment);
  }

  /** leftovers() of every deployment of this environment (src/session/tempUserSweep.ts). */
  environmentLeftovers(environment: string): TempUserRecord[] {
    return this.list().filter(
      (r) =>
        sameUrl(r.environment, environment) &&
        r.workstation === os.hostname() &&
        (!!r.cleanupTasks?.length || (r.pid !== process.pid && !processAlive(r.pid))),
    );
  }
}

function processAlive(pid: number): boolean {
  if (!(pid > 0)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
