import * as assert from 'assert';
import {
  decToHex,
  hexToDec,
  isMemberIdDec,
  isMemberIdHex,
  normalizeHexId,
  parseJsonExact,
  sameMemberId,
  toHexId,
} from '../../src/etcd/ids';
import { fixture } from './fixture-path';

describe('etcd member ids (src/etcd/ids.ts)', () => {
  // Real ids from the captured 3.4 cluster: ff9cff6022f04755 is above 2^53.
  const pairs: [string, string][] = [
    ['ff9cff6022f04755', '18418877364406601557'],
    ['6e6f447ccd1806f7', '7957654369394493175'],
    ['15a71761333ad988', '1560241502145927560'],
    ['ef7592f9c2e09469', '17254859148753933417'],
    ['18ac61d8503c2eb', '111118970911965931'],
    ['ffffffffffffffff', '18446744073709551615'],
    ['1', '1'],
  ];

  it('converts hex ⇄ decimal exactly, also above 2^53', () => {
    for (const [hex, dec] of pairs) {
      assert.strictEqual(hexToDec(hex), dec, hex);
      assert.strictEqual(decToHex(dec), hex, dec);
      assert.strictEqual(decToHex(hexToDec(hex)), hex);
    }
    // The value JSON.parse would produce is different: the exact path is needed.
    assert.notStrictEqual(Number('18418877364406601557').toString(16), 'ff9cff6022f04755');
  });

  it('validates ids as etcdctl prints them', () => {
    assert.ok(isMemberIdHex('8e9e05c52164694d'));
    assert.ok(isMemberIdHex('18ac61d8503c2eb'));
    for (const bad of ['', 'G1', '8E9E05C52164694D', '11111111111111111', '0x12', ' 12', '12;rm -rf /', 12]) {
      assert.ok(!isMemberIdHex(bad), String(bad));
    }
    assert.ok(isMemberIdDec('18446744073709551615'));
    assert.ok(!isMemberIdDec('18446744073709551616'), 'beyond uint64');
    assert.throws(() => decToHex('18446744073709551616'), /uint64/);
    assert.throws(() => decToHex('-1'), RangeError);
    assert.throws(() => hexToDec('xyz'), /hex digits/);
  });

  it('normalises case, 0x and leading zeros; compares ids numerically', () => {
    assert.strictEqual(normalizeHexId(' 0x018AC61D8503C2EB '), '18ac61d8503c2eb');
    assert.ok(sameMemberId('018ac61d8503c2eb', '18AC61D8503C2EB'));
    assert.ok(!sameMemberId('18ac61d8503c2eb', '18ac61d8503c2ec'));
    assert.ok(!sameMemberId('nope', 'nope'));
  });

  it('toHexId accepts bigint, safe numbers, decimal and hex strings, refuses rounded numbers', () => {
    assert.strictEqual(toHexId(18418877364406601557n), 'ff9cff6022f04755');
    assert.strictEqual(toHexId(255), 'ff');
    assert.strictEqual(toHexId('18418877364406601557'), 'ff9cff6022f04755');
    assert.strictEqual(toHexId('ff9cff6022f04755'), 'ff9cff6022f04755');
    assert.strictEqual(toHexId('10', 'hex'), '10');
    assert.strictEqual(toHexId('10'), 'a');
    // A JSON.parse'd id above 2^53 is already corrupt: toHexId must refuse it.
    // eslint-disable-next-line no-loss-of-precision
    assert.throws(() => toHexId(18418877364406601557), /parseJsonExact/);
    assert.throws(() => toHexId(-1n), /range/);
  });

  it('parseJsonExact keeps 64-bit integers of real `etcdctl -w json` output', () => {
    const text = fixture('etcdctl-3.4', 'member-list.json');
    const j = parseJsonExact(text) as {
      header: { cluster_id: bigint; member_id: bigint; raft_term: number };
      members: { ID: bigint | number; name: string }[];
    };
    assert.strictEqual(typeof j.header.member_id, 'bigint');
    assert.strictEqual(j.header.member_id, 18418877364406601557n);
    assert.strictEqual(j.header.raft_term, 2);
    const m2 = j.members.find((m) => m.name === 'm2')!;
    assert.strictEqual(toHexId(m2.ID), 'ff9cff6022f04755');
    // Plain JSON.parse loses it — the reason this reader exists.
    const lossy = JSON.parse(text).members.find((m: { name: string }) => m.name === 'm2').ID as number;
    assert.notStrictEqual(BigInt(lossy), 18418877364406601557n);
  });

  it('parseJsonExact is a strict JSON reader', () => {
    assert.deepStrictEqual(parseJsonExact('{"a":[1,-2.5e3,true,false,null,"x\\"\\u00e9\\n"],"b":{}}'), {
      a: [1, -2500, true, false, null, 'x"é\n'],
      b: {},
    });
    assert.strictEqual(parseJsonExact('-9007199254740993'), -9007199254740993n);
    assert.strictEqual(parseJsonExact('9007199254740991'), 9007199254740991);
    const proto = parseJsonExact('{"__proto__":{"polluted":1}}') as Record<string, unknown>;
    assert.strictEqual(({} as Record<string, unknown>).polluted, undefined);
    assert.deepStrictEqual(Object.keys(proto), ['__proto__']);
    for (const bad of ['', '{', '[1,]', '{"a" 1}', '01', '"\\x"', 'nul', '1 2', '{"a":1,}', '"a\nb"']) {
      assert.throws(() => parseJsonExact(bad), SyntaxError, bad);
    }
  });
});
