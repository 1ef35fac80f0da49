// Unit tier: the resume marker bound to its run (src/session/resumeMarker.ts).
import * as assert from 'assert';
import { execFileSync } from 'child_process';
import {
  formatResumeMarker,
  markerMatches,
  parseResumeMarker,
  writeResumeMarkerCommand,
  type ResumeMarker,
} from '../../src/session/resumeMarker';
import { parseStateFile } from '../../src/recovery/observe';
import type { EtcdMember } from '../../src/etcd/types';

const TARGET = '8d1f0c4e-6f7a-4b8e-9c1d-2e3f4a5b6c7d';
const OTHER = '11111111-2222-4333-8444-555555555555';
const PEER = 'https://master-1.etcd.cfcr.internal:2380';

const marker = (over: Partial<ResumeMarker> = {}): ResumeMarker => ({
  runId: 'run-a',
  ts: '20250102T030405Z',
  instance: TARGET,
  peerUrl: PEER,
  removedMemberId: 'aa11',
  addedMemberId: null,
  snapshot: '/var/vcap/store/etcd-snapshots/20250102T030405Z.db',
  snapshotHost: 'master/' + OTHER,
  ...over,
});

const member = (id: string, name: string, peer = PEER): EtcdMember => ({
  id,
  name,
  peerURLs: [peer],
  clientURLs: [],
  isLearner: false,
});
const healthyOther = member('bb22', OTHER, 'https://master-0.etcd.cfcr.internal:2380');

describe('resume marker (session/resumeMarker)', () => {
  it('round-trips every field', () => {
    const m = marker({ addedMemberId: 'cc33' });
    assert.deepStrictEqual(parseResumeMarker(formatResumeMarker(m)), m);
  });

  it("stays readable by the engine's observation (parseStateFile)", () => {
    const r = parseStateFile(formatResumeMarker(marker()));
    assert.deepStrictEqual(r, {
      ts: '20250102T030405Z',
      oldMemberId: 'aa11',
      snapshot: '/var/vcap/store/etcd-snapshots/20250102T030405Z.db',
      snapshotHost: 'master/' + OTHER,
      marker: marker(),
    });
  });

  it('reads an old marker (no run id) as unbound, and rejects text without a timestamp', () => {
    const m = parseResumeMarker('ts=20250102T030405Z\nold_member_id=aa11\nsnapshot=\n');
    assert.ok(m);
    assert.strictEqual(m.runId, null);
    assert.strictEqual(m.instance, null);
    assert.strictEqual(parseResumeMarker('old_member_id=aa11\n'), null);
    assert.strictEqual(markerMatches(m, [], 'run-b').binding, 'unbound');
    assert.strictEqual(markerMatches(m, [], 'run-b').trusted, false);
  });

  it('refuses to format a field that could reach the shell', () => {
    assert.throws(() => formatResumeMarker(marker({ runId: 'a;rm -rf /' })), /invalid run id/);
    assert.throws(() => formatResumeMarker(marker({ instance: "x'$(id)" })), /invalid instance/);
    assert.throws(() => formatResumeMarker(marker({ addedMemberId: 'XYZ' })), /invalid added member id/);
  });

  it('writes the file with a command that reproduces the text exactly', () => {
    const m = marker({ addedMemberId: 'cc33' });
    const cmd = writeResumeMarkerCommand(m).replace(/\/var\/vcap\/store\/etcd-recovery\.state/g, '/dev/stdout');
    // `> /dev/stdout.tmp && mv` is not runnable here: run only the printf part.
    const printf = cmd.slice(0, cmd.indexOf(' > '));
    assert.strictEqual(execFileSync('sh', ['-c', printf], { encoding: 'utf8' }), formatResumeMarker(m));
  });

  describe('markerMatches', () => {
    it('trusts the marker of the run holding the lock', () => {
      const v = markerMatches(marker(), [healthyOther, member('aa11', TARGET)], 'run-a');
      assert.strictEqual(v.trusted, true);
      assert.strictEqual(v.binding, 'own-run');
    });

    it('trusts a stale run’s marker only while the membership matches it', () => {
      const m = marker({ addedMemberId: 'cc33' });
      const ok = markerMatches(m, [healthyOther, member('cc33', '')], 'run-b', { staleRunIds: ['run-a'] });
      assert.deepStrictEqual([ok.trusted, ok.binding, ok.mismatches], [true, 'stale-run', []]);

      const addedGone = markerMatches(m, [healthyOther], 'run-b', { staleRunIds: ['run-a'] });
      assert.strictEqual(addedGone.trusted, false);
      assert.match(addedGone.mismatches.join(), /cc33 \(recorded as added\) is not in the member list/);
      assert.match(addedGone.reason, /remove the marker/);

      const recoveredElsewhere = markerMatches(m, [healthyOther, member('cc33', ''), member('dd44', TARGET)], 'run-b', {
        staleRunIds: ['run-a'],
      });
      assert.strictEqual(recoveredElsewhere.trusted, false);
      assert.match(recoveredElsewhere.mismatches.join(), /dd44 .* not one the marker knows/);

      const stolenId = markerMatches(marker(), [healthyOther, member('aa11', OTHER)], 'run-b', {
        staleRunIds: ['run-a'],
      });
      assert.strictEqual(stolenId.trusted, false);
      assert.match(stolenId.mismatches.join(), /aa11 .* now belongs to/);
    });

    it("after the removal, one member of the target the marker does not know is the start script's self-add", () => {
      const v = markerMatches(marker(), [healthyOther, member('ee55', '')], 'run-b', { staleRunIds: ['run-a'] });
      assert.deepStrictEqual([v.trusted, v.mismatches], [true, []]);
    });

    it('two unknown members of the target, or one before any removal, are a mismatch', () => {
      const two = markerMatches(marker(), [healthyOther, member('ee55', ''), member('ff66', TARGET)], 'run-b', {
        staleRunIds: ['run-a'],
      });
      assert.strictEqual(two.trusted, false);
      assert.match(two.mismatches.join(), /ee55 \(unstarted\)/);
      const early = markerMatches(marker({ removedMemberId: null }), [healthyOther, member('ee55', '')], 'run-b', {
        staleRunIds: ['run-a'],
      });
      assert.strictEqual(early.trusted, false);
      assert.match(early.mismatches.join(), /ee55 \(unstarted\)/);
    });

    it('does not trust the marker of another run that is not known to be stale, even when the membership matches', () => {
      const v = markerMatches(marker(), [healthyOther, member('aa11', TARGET)], 'run-b');
      assert.deepStrictEqual([v.trusted, v.binding, v.mismatches], [false, 'other-run', []]);
      assert.match(v.reason, /run-a/);
    });
  });
});
