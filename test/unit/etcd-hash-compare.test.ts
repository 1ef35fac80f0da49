// compareHashKV: the rule the recovery's "hashKV equal to the leader's" check and the diagnosis share.
import * as assert from 'assert';
import { compareHashKV, describeHashKV } from '../../src/etcd/hashCompare';

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
});
