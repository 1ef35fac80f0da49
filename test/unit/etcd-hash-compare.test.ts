// compareHashKV: the rule the recovery's "hashKV equal to the leader's" check and the diagnosis share.
import * as assert from 'assert';
import { compareHashKV, compareMembersAt, describeHashKV, type HashReader } from '../../src/etcd/hashCompare';
import type { HashKV } from '../../src/etcd/types';

describe('compareHashKV', () => {
  // Answers seen from etcd 3.5.16 for `hashkv --rev 3` after `compact 3` at head: from the compaction cache
  // of the member that compacted, and computed afresh (after a restart, or on a member that joined later).
  const cached = { hash: 1827592406, compactRevision: '-1' };
  const computed = { hash: 1827592406, compactRevision: '3' };

  it('equal hashes are equal whatever compaction range each answer reports', () => {
    assert.strictEqual(compareHashKV(cached, computed), 'equal');
    assert.strictEqual(compareHashKV(computed, computed), 'equal');
  });

  it('other hashes over the same range are different data', () => {
    assert.strictEqual(compareHashKV(computed, { hash: 7, compactRevision: '3' }), 'different');
  });

  it('other hashes over other ranges are incomparable, not a divergence', () => {
    assert.strictEqual(compareHashKV({ hash: 7, compactRevision: '-1' }, computed), 'incomparable');
  });

  it('describes an answer with the range it hashed', () => {
    assert.strictEqual(describeHashKV('leader', cached), 'leader hash 1827592406 (compact revision -1)');
  });

  describe('compareMembersAt (the recovery\'s "hashKV equal to the leader\'s")', () => {
    const kv = (hash: number, compactRevision: string, revision = '3'): HashKV => ({
      memberId: 'x',
      revision,
      compactRevision,
      hash,
    });
    /** A reader from a table: answers[endpoint][revision or 'current'], an Error is thrown. */
    const reader =
      (answers: Record<string, Record<string, HashKV | Error>>): HashReader =>
      async (ep, rev) => {
        const a = answers[ep][rev ?? 'current'];
        if (a instanceof Error) throw a;
        return a;
      };

    it('etcd 3.5 after a compaction at head: the cache answer and the computed one agree', async () => {
      const r = reader({ L: { '3': kv(9, '-1') }, N: { '3': kv(9, '3') } });
      assert.deepStrictEqual(await compareMembersAt(r, 'L', 'N', '3'), { equal: true, revision: '3', hash: 9 });
    });

    it('etcd 3.4 refuses the compaction revision itself: compared at the current revision instead', async () => {
      const compacted = new Error('hashKV of L: etcdserver: mvcc: required revision has been compacted');
      const r = reader({ L: { '3': compacted, current: kv(9, '3') }, N: { '3': compacted, current: kv(9, '3') } });
      assert.deepStrictEqual(await compareMembersAt(r, 'L', 'N', '3'), { equal: true, revision: '3', hash: 9 });
    });

    it('other hashes over other ranges, then writes going on: not equal yet, and says what it saw', async () => {
      const r = reader({
        L: { '3': kv(5, '-1'), current: kv(7, '3', '5') },
        N: { '3': kv(9, '3'), current: kv(8, '3', '4') },
      });
      const res = await compareMembersAt(r, 'L', 'N', '3');
      assert.strictEqual(res.equal, false);
      assert.match(
        !res.equal ? res.detail : '',
        /other compaction ranges.*L hash 5 \(compact revision -1\).*current revisions differ \(5, 4\)/,
      );
    });

    it('other hashes over the same range: different, without asking again; other errors propagate', async () => {
      const res = await compareMembersAt(reader({ L: { '3': kv(5, '3') }, N: { '3': kv(9, '3') } }), 'L', 'N', '3');
      assert.strictEqual(res.equal, false);
      assert.match(!res.equal ? res.detail : '', /the hashes differ/);
      await assert.rejects(
        compareMembersAt(reader({ L: { '3': new Error('deadline exceeded') }, N: { '3': kv(9, '3') } }), 'L', 'N', '3'),
        /deadline exceeded/,
      );
    });
  });
});
