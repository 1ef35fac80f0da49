// The diagnosis' snapshot-age finding: the newest local snapshot of the deployment (observeSnapshots
// on a real folder), info while young or absent, a warning once older than the threshold.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  SNAPSHOT_WARN_AGE_MS,
  ageWords,
  diagnose,
  exitCodeFor,
  observeSnapshots,
  type Diagnosis,
} from '../../src/diagnosis';
import { findingButton } from '../../src/diagnosis/actions';
import { snapshotFileName } from '../../src/snapshots/metadata';
import { observation } from './observation-fixtures';

const H = 3600_000;
const snapshotFinding = (d: Diagnosis) => d.findings.filter((f) => f.kind === 'snapshot-age');

describe('diagnosis: age of the newest local snapshot', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diag-snap-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const put = (deployment: string, agoMs: number, rev: string) => {
    const f = path.join(dir, snapshotFileName(deployment, new Date(Date.now() - agoMs), rev));
    fs.writeFileSync(f, 'x');
    return path.basename(f);
  };

  it('reads the newest snapshot of this deployment only', async () => {
    put('dep', 30 * H, '10');
    const newest = put('dep', 3 * H + 60_000, '42');
    put('other', 60_000, '99');
    const s = await observeSnapshots(dir, 'dep');
    assert.strictEqual(s.newest?.name, newest);
    assert.strictEqual(s.newest?.revision, '42');
    assert.strictEqual(s.warnAgeMs, SNAPSHOT_WARN_AGE_MS);
    assert.strictEqual((await observeSnapshots(path.join(dir, 'absent'), 'dep')).newest, undefined);
    const notDir = path.join(dir, newest);
    assert.match((await observeSnapshots(notDir, 'dep')).error ?? '', /ENOTDIR/);
  });

  it('young: info "newest snapshot 3 h old", the cluster stays healthy (exit 0)', async () => {
    put('dep', 3 * H + 60_000, '42');
    const d = diagnose(observation({ snapshots: await observeSnapshots(dir, 'dep') }));
    const [f] = snapshotFinding(d);
    assert.strictEqual(f.severity, 'info');
    assert.strictEqual(f.title, 'newest snapshot 3 h old');
    assert.match(f.evidence, /at revision 42/);
    assert.strictEqual(f.action.flow, 'none');
    assert.strictEqual(d.findings[0].kind, 'healthy');
    assert.strictEqual(exitCodeFor(d.summary), 0);
  });

  it('none: info "no snapshot of this cluster", with the command that takes one', async () => {
    put('other', 60_000, '1');
    const d = diagnose(observation({ snapshots: await observeSnapshots(dir, 'dep') }));
    const [f] = snapshotFinding(d);
    assert.strictEqual(f.severity, 'info');
    assert.strictEqual(f.title, 'no snapshot of this cluster');
    assert.deepStrictEqual(findingButton(f), {
      kind: 'copy-command',
      label: 'Copy command',
      command: `bosh-etcd snapshot save --deployment dep --dir ${dir}`,
    });
    assert.strictEqual(d.summary.worst, 'ok');
  });

  it('older than the threshold (24 h): a warning, exit 7; a threshold of 48 h keeps it info', async () => {
    put('dep', 30 * H, '7');
    const d = diagnose(observation({ snapshots: await observeSnapshots(dir, 'dep') }));
    const [f] = snapshotFinding(d);
    assert.strictEqual(f.severity, 'warning');
    assert.strictEqual(f.title, 'newest snapshot 30 h old (older than 24 h)');
    assert.strictEqual(f.action.flow, 'bosh');
    assert.match(f.action.command ?? '', /^bosh-etcd snapshot save --deployment dep --dir /);
    assert.strictEqual(d.summary.worst, 'warning');
    assert.strictEqual(exitCodeFor(d.summary), 7);
    const lax = diagnose(observation({ snapshots: await observeSnapshots(dir, 'dep', 48 * H) }));
    assert.strictEqual(snapshotFinding(lax)[0].severity, 'info');
  });

  it('not asked (no folder given): no snapshot finding; age words', () => {
    assert.deepStrictEqual(snapshotFinding(diagnose(observation())), []);
    assert.deepStrictEqual(
      [ageWords(59_000), ageWords(12 * 60_000), ageWords(47 * H), ageWords(50 * H)],
      ['0 min', '12 min', '47 h', '2 days'],
    );
  });
});
