// Unit tier: snapshot verification (synthetic bbolt files laid out as bbolt writes them), the local
// snapshot folder (list, newest, delete) and the `bosh-etcd snapshot verify|list|delete` commands.
import * as assert from 'assert';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PassThrough } from 'stream';
import { BOLT_MAGIC, crc32c } from '../../src/snapshots/bbolt';
import { deleteSnapshot, listSnapshots, newestSnapshot, verifySnapshot } from '../../src/snapshots';
import { metadataPathOf, snapshotFileName, type SnapshotMetadata } from '../../src/snapshots/metadata';
import { EXIT, main } from '../../src/cli';

const PS = 4096;

function fnv1a64(b: Buffer): bigint {
  let h = 0xcbf29ce484222325n;
  for (const x of b) h = ((h ^ BigInt(x)) * 0x100000001b3n) & ((1n << 64n) - 1n);
  return h;
}

function revKey(main: number, sub = 0): Buffer {
  const k = Buffer.alloc(17);
  k.writeBigUInt64BE(BigInt(main), 0);
  k.write('_', 8);
  k.writeBigUInt64BE(BigInt(sub), 9);
  return k;
}

/** A leaf page (or inline page when id is 0) of [key, value, flags] elements. */
function leaf(id: number, items: [Buffer, Buffer, number][], size = PS): Buffer {
  const p = Buffer.alloc(size);
  p.writeBigUInt64LE(BigInt(id), 0);
  p.writeUInt16LE(0x02, 8);
  p.writeUInt16LE(items.length, 10);
  let data = 16 + 16 * items.length;
  items.forEach(([k, v, flags], i) => {
    const at = 16 + 16 * i;
    p.writeUInt32LE(flags, at);
    p.writeUInt32LE(data - at, at + 4);
    p.writeUInt32LE(k.length, at + 8);
    p.writeUInt32LE(v.length, at + 12);
    k.copy(p, data);
    v.copy(p, data + k.length);
    data += k.length + v.length;
  });
  return size === PS ? p : p.subarray(0, data);
}

function branch(id: number, children: [Buffer, number][]): Buffer {
  const p = Buffer.alloc(PS);
  p.writeBigUInt64LE(BigInt(id), 0);
  p.writeUInt16LE(0x01, 8);
  p.writeUInt16LE(children.length, 10);
  let data = 16 + 16 * children.length;
  children.forEach(([k, pgid], i) => {
    const at = 16 + 16 * i;
    p.writeUInt32LE(data - at, at);
    p.writeUInt32LE(k.length, at + 4);
    p.writeBigUInt64LE(BigInt(pgid), at + 8);
    k.copy(p, data);
    data += k.length;
  });
  return p;
}

function meta(id: number, txid: number, pageCount: number, magic = BOLT_MAGIC): Buffer {
  const p = Buffer.alloc(PS);
  p.writeBigUInt64LE(BigInt(id), 0);
  p.writeUInt16LE(0x04, 8);
  const m = p.subarray(16);
  m.writeUInt32LE(magic, 0);
  m.writeUInt32LE(2, 4);
  m.writeUInt32LE(PS, 8);
  m.writeBigUInt64LE(3n, 16); // root bucket page
  m.writeBigUInt64LE(2n, 32); // freelist page
  m.writeBigUInt64LE(BigInt(pageCount), 40);
  m.writeBigUInt64LE(BigInt(txid), 48);
  m.writeBigUInt64LE(fnv1a64(m.subarray(0, 56)), 56);
  return p;
}

function bucketHeader(root: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeBigUInt64LE(BigInt(root), 0);
  return b;
}

interface Synthetic {
  bytes: Buffer;
  revision: number;
  totalKeys: number;
  hash: number;
}

/**
 * An etcd snapshot as the Snapshot RPC streams it: a bbolt database with a "key" bucket (branch
 * page over two leaves, revisions 1..revs) and an inline "meta" bucket, then sha256 of it.
 */
function syntheticSnapshot(revs = 40, opts: { magic?: number; buckets?: [string, string] } = {}): Synthetic {
  const [keyName, metaName] = (opts.buckets ?? ['key', 'meta']).map((s) => Buffer.from(s));
  const kvs: [Buffer, Buffer, number][] = Array.from({ length: revs }, (_, i) => [
    revKey(i + 1),
    Buffer.from(`value-${i + 1}`),
    0,
  ]);
  const half = Math.ceil(revs / 2);
  const metaKvs: [Buffer, Buffer, number][] = [[Buffer.from('consistent_index'), Buffer.alloc(8, 7), 0]];
  const inlineMeta = Buffer.concat([bucketHeader(0), leaf(0, metaKvs, PS)]);
  const trimmedInline = inlineMeta.subarray(0, 16 + 16 + 16 + 16 + 8);
  const pages = [
    meta(0, 10, 7, opts.magic),
    meta(1, 11, 7, opts.magic),
    (() => {
      const f = Buffer.alloc(PS);
      f.writeBigUInt64LE(2n, 0);
      f.writeUInt16LE(0x10, 8);
      return f;
    })(),
    leaf(3, [
      [keyName, bucketHeader(4), 1],
      [metaName, trimmedInline, 1],
    ]),
    branch(4, [
      [kvs[0][0], 5],
      [kvs[half][0], 6],
    ]),
    leaf(5, kvs.slice(0, half)),
    leaf(6, kvs.slice(half)),
  ];
  const db = Buffer.concat(pages);
  let hash = 0;
  for (const [name, items] of [
    [keyName, kvs],
    [metaName, metaKvs],
  ] as [Buffer, [Buffer, Buffer, number][]][]) {
    hash = crc32c(hash, name);
    for (const [k, v] of items) hash = crc32c(crc32c(hash, k), v);
  }
  return {
    bytes: Buffer.concat([db, crypto.createHash('sha256').update(db).digest()]),
    revision: revs,
    totalKeys: revs + 1,
    hash,
  };
}

/** Re-appends a correct etcd sha256 after changing the database part. */
function resealed(bytes: Buffer): Buffer {
  const db = bytes.subarray(0, bytes.length - 32);
  return Buffer.concat([db, crypto.createHash('sha256').update(db).digest()]);
}

function metadataFor(
  file: string,
  bytes: Buffer,
  deployment: string,
  takenAt: Date,
  revision: string,
): SnapshotMetadata {
  return {
    format: 1,
    file: path.basename(file),
    clusterId: 'abc',
    deployment,
    environment: 'env',
    member: { name: 'uuid-1', id: '1234', endpoint: 'https://master-1.etcd.cfcr.internal:2379' },
    revision,
    etcdVersion: '3.4.23',
    size: bytes.length,
    sha256: crypto.createHash('sha256').update(bytes).digest('hex'),
    totalKeys: 0,
    hash: 0,
    takenAt: takenAt.toISOString(),
    durationMs: 1,
  };
}

function capture() {
  const out = new PassThrough();
  const err = new PassThrough();
  let o = '';
  let e = '';
  out.on('data', (d) => (o += d));
  err.on('data', (d) => (e += d));
  return { out, err, text: () => ({ out: o, err: e }) };
}

describe('snapshots', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'snapshots-test-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, bytes: Buffer) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, bytes);
    return f;
  };

  describe('verifySnapshot', () => {
    it('computes CRC-32C as Go does (standard check value)', () => {
      assert.strictEqual(crc32c(0, Buffer.from('123456789')), 0xe3069283);
    });

    it('CRC-32C eight bytes at a time equals the bytewise definition at every length and split', () => {
      const table = Array.from({ length: 256 }, (_, n) => {
        let c = n;
        for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
        return c >>> 0;
      });
      const bytewise = (crc: number, b: Buffer) => {
        let c = ~crc >>> 0;
        for (const x of b) c = table[(c ^ x) & 0xff] ^ (c >>> 8);
        return ~c >>> 0;
      };
      const data = Buffer.from(Array.from({ length: 41 }, (_, i) => (i * 97 + 13) & 0xff));
      for (let n = 0; n <= data.length; n++) {
        const b = data.subarray(0, n);
        assert.strictEqual(crc32c(0, b), bytewise(0, b), `length ${n}`);
        // continued from a previous value, as the bucket walk does
        assert.strictEqual(crc32c(crc32c(0, b.subarray(0, n >> 1)), b.subarray(n >> 1)), bytewise(0, b), `split ${n}`);
      }
    });

    it('accepts a good snapshot and reads its revision, key count and hash by walking the bbolt tree', async () => {
      const s = syntheticSnapshot(120);
      const f = write('good.db', s.bytes);
      const r = await verifySnapshot(f);
      assert.ok(r.ok, JSON.stringify(r));
      assert.strictEqual(r.status.revision, '120');
      assert.strictEqual(r.status.totalKeys, s.totalKeys);
      assert.strictEqual(r.status.hash, s.hash);
      assert.strictEqual(r.status.totalSize, 7 * PS);
      assert.strictEqual(r.sha256, crypto.createHash('sha256').update(s.bytes).digest('hex'));
      assert.strictEqual(r.metadata, undefined);
    });

    it('checks the metadata beside the file: matching sha256 passes, another sha256 is refused', async () => {
      const s = syntheticSnapshot();
      const f = write('m.db', s.bytes);
      const md = metadataFor(f, s.bytes, 'dep', new Date(), '40');
      fs.writeFileSync(metadataPathOf(f), JSON.stringify(md));
      const ok = await verifySnapshot(f);
      assert.ok(ok.ok && ok.metadata?.deployment === 'dep');
      fs.writeFileSync(metadataPathOf(f), JSON.stringify({ ...md, sha256: '0'.repeat(64) }));
      const bad = await verifySnapshot(f);
      assert.ok(!bad.ok && bad.problem === 'metadata-mismatch' && /altered/.test(bad.reason), JSON.stringify(bad));
    });

    it('says when the metadata beside the file is unreadable, and still checks the file itself', async () => {
      const s = syntheticSnapshot();
      const f = write('u.db', s.bytes);
      fs.writeFileSync(metadataPathOf(f), '{ not json');
      const r = await verifySnapshot(f);
      assert.ok(r.ok && r.metadata === undefined && /not valid JSON/.test(r.metadataError ?? ''), JSON.stringify(r));
    });

    it('refuses a truncated file, with or without metadata', async () => {
      const s = syntheticSnapshot();
      const cut = write('cut.db', s.bytes.subarray(0, s.bytes.length - 100));
      const r1 = await verifySnapshot(cut);
      assert.ok(!r1.ok && r1.problem === 'no-etcd-hash' && /truncated/.test(r1.reason), JSON.stringify(r1));
      // Cut by exactly one page: the size still looks like pages + 32, etcd's sha256 gives it away.
      const page = write('page.db', Buffer.concat([s.bytes.subarray(0, 6 * PS), s.bytes.subarray(7 * PS)]));
      const r2 = await verifySnapshot(page);
      assert.ok(!r2.ok && r2.problem === 'etcd-hash-mismatch', JSON.stringify(r2));
      // With metadata: refused on the size alone, before reading.
      fs.writeFileSync(metadataPathOf(cut), JSON.stringify(metadataFor(cut, s.bytes, 'd', new Date(), '40')));
      const r3 = await verifySnapshot(cut);
      assert.ok(!r3.ok && r3.problem === 'metadata-mismatch' && /truncated/.test(r3.reason), JSON.stringify(r3));
      assert.match(r3.advice, /snapshot save/);
    });

    it('refuses a file with one flipped byte', async () => {
      const s = syntheticSnapshot();
      const b = Buffer.from(s.bytes);
      b[5 * PS + 200] ^= 0x01;
      const r = await verifySnapshot(write('flip.db', b));
      assert.ok(!r.ok && r.problem === 'etcd-hash-mismatch' && /altered or damaged/.test(r.reason), JSON.stringify(r));
    });

    it('refuses a file without the bbolt magic even when its trailing sha256 is consistent', async () => {
      const s = syntheticSnapshot(40, { magic: 0xdeadbeef });
      const r = await verifySnapshot(write('magic.db', s.bytes));
      assert.ok(!r.ok && r.problem === 'not-bbolt' && /0xdeadbeef/.test(r.reason), JSON.stringify(r));
    });

    it('uses the second meta page when the first is damaged, as bbolt does', async () => {
      const s = syntheticSnapshot();
      const b = Buffer.from(s.bytes);
      b[16 + 30] ^= 0xff; // inside meta 0: its checksum no longer matches
      const r = await verifySnapshot(write('meta0.db', resealed(b)));
      assert.ok(r.ok && r.status.revision === '40', JSON.stringify(r));
    });

    it('refuses a database whose meta page claims more pages than the file holds', async () => {
      const s = syntheticSnapshot();
      const db = s.bytes.subarray(0, 6 * PS); // drop the last page, keep the meta's page count of 7
      const r = await verifySnapshot(write('short.db', resealed(Buffer.concat([db, Buffer.alloc(32)]))));
      assert.ok(!r.ok && r.problem === 'damaged' && /truncated/.test(r.reason), JSON.stringify(r));
    });

    it('refuses a bbolt database that is not etcd’s, and a missing file', async () => {
      const s = syntheticSnapshot(10, { buckets: ['aaa', 'bbb'] });
      const r = await verifySnapshot(write('other.db', s.bytes));
      assert.ok(!r.ok && r.problem === 'not-bbolt' && /not etcd/.test(r.reason), JSON.stringify(r));
      const m = await verifySnapshot(path.join(dir, 'nope.db'));
      assert.ok(!m.ok && m.problem === 'missing');
    });
  });

  describe('list, newest, delete', () => {
    function saved(deployment: string, takenAt: Date, revs: number): string {
      const s = syntheticSnapshot(revs);
      const f = path.join(dir, snapshotFileName(deployment, takenAt, String(revs)));
      fs.writeFileSync(f, s.bytes, { mode: 0o600 });
      fs.writeFileSync(metadataPathOf(f), JSON.stringify(metadataFor(f, s.bytes, deployment, takenAt, String(revs))));
      return f;
    }
    const now = new Date('2026-12-01T12:00:00Z');

    it('lists snapshots newest first with age, size and metadata, ignores partial files, filters by deployment', async () => {
      const old = saved('dep-a', new Date('2026-11-30T12:00:00Z'), 10);
      const recent = saved('dep-a', new Date('2026-12-01T11:00:00Z'), 20);
      const other = saved('dep-b', new Date('2026-12-01T11:30:00Z'), 30);
      fs.writeFileSync(path.join(dir, '.dep-a-123-1-abcd.db.partial'), 'partial');
      const bare = write('dep-a-20261201T115900Z-rev99.db', syntheticSnapshot(5).bytes); // no metadata
      fs.writeFileSync(path.join(dir, 'notes.txt'), 'x');
      const all = await listSnapshots(dir, { now });
      assert.deepStrictEqual(
        all.map((e) => e.file),
        [bare, other, recent, old],
      );
      const a = await listSnapshots(dir, { deployment: 'dep-a', now });
      assert.deepStrictEqual(
        a.map((e) => e.file),
        [bare, recent, old],
      );
      assert.strictEqual(a[1].ageMs, 3600_000);
      assert.strictEqual(a[1].size, fs.statSync(recent).size);
      assert.strictEqual(a[1].metadata?.revision, '20');
      assert.strictEqual(a[0].metadata, undefined);
      assert.strictEqual(a[0].revision, '99', 'revision from the file name when there is no metadata');
      assert.strictEqual(a[1].verification, undefined, 'not verified unless asked');
      assert.deepStrictEqual(await listSnapshots(path.join(dir, 'missing')), []);
    });

    it('verifies on request and reports which ones fail', async () => {
      const good = saved('dep', new Date('2026-12-01T10:00:00Z'), 10);
      const bad = saved('dep', new Date('2026-12-01T11:00:00Z'), 11);
      const b = fs.readFileSync(bad);
      b[5 * PS + 10] ^= 0xff;
      fs.writeFileSync(bad, b);
      const l = await listSnapshots(dir, { verify: true, now });
      assert.strictEqual(l.find((e) => e.file === good)?.verification?.ok, true);
      const v = l.find((e) => e.file === bad)?.verification;
      assert.ok(v && !v.ok && v.problem === 'etcd-hash-mismatch', JSON.stringify(v));
    });

    it('newestSnapshot gives the newest of one deployment (undefined when there is none)', async () => {
      saved('dep-a', new Date('2026-11-30T12:00:00Z'), 10);
      const recent = saved('dep-a', new Date('2026-12-01T11:00:00Z'), 20);
      saved('dep-b', new Date('2026-12-01T11:30:00Z'), 30);
      assert.strictEqual((await newestSnapshot(dir, 'dep-a'))?.file, recent);
      assert.strictEqual(await newestSnapshot(dir, 'dep-c'), undefined);
    });

    it('newestSnapshot lists the folder again only when it changed, and ages its answer', async () => {
      const first = saved('dep-a', new Date('2026-12-01T11:00:00Z'), 20);
      const minuteAgo = new Date(Date.now() - 60_000);
      fs.utimesSync(dir, minuteAgo, minuteAgo); // a folder not changed in the last seconds is cached
      const t0 = new Date('2026-12-01T12:00:00Z');
      assert.strictEqual((await newestSnapshot(dir, 'dep-a', t0))?.ageMs, 3600_000);
      const later = await newestSnapshot(dir, 'dep-a', new Date('2026-12-01T13:00:00Z'));
      assert.strictEqual(later?.file, first);
      assert.strictEqual(later?.ageMs, 2 * 3600_000, 'the age counts from the time it was taken, not from the cache');
      // a file slipped in with the folder's modification time put back: the cached answer stands (not listed)
      const hidden = saved('dep-a', new Date('2026-12-01T11:30:00Z'), 25);
      fs.utimesSync(dir, minuteAgo, minuteAgo);
      assert.strictEqual(
        (await newestSnapshot(dir, 'dep-a', t0))?.file,
        first,
        'an unchanged folder is not listed again',
      );
      // a new snapshot, then deletions: each changes the folder and is seen at once
      const newer = saved('dep-a', new Date('2026-12-01T12:30:00Z'), 30);
      assert.strictEqual((await newestSnapshot(dir, 'dep-a', t0))?.file, newer);
      deleteSnapshot(newer);
      assert.strictEqual((await newestSnapshot(dir, 'dep-a', t0))?.file, hidden);
      deleteSnapshot(hidden);
      deleteSnapshot(first);
      assert.strictEqual(await newestSnapshot(dir, 'dep-a', t0), undefined);
    });

    it('deleteSnapshot removes the file and its metadata, and refuses what is not a snapshot', async () => {
      const f = saved('dep', new Date(), 10);
      assert.deepStrictEqual(deleteSnapshot(f), [f, metadataPathOf(f)]);
      assert.ok(!fs.existsSync(f) && !fs.existsSync(metadataPathOf(f)));
      assert.throws(() => deleteSnapshot(f), /does not exist/);
      const txt = write('x.txt', Buffer.from('x'));
      assert.throws(() => deleteSnapshot(txt), /not a snapshot file/);
      assert.ok(fs.existsSync(txt));
    });
  });

  describe('bosh-etcd snapshot', () => {
    const run = async (args: string[]) => {
      const c = capture();
      const code = await main(['snapshot', ...args], { out: c.out, err: c.err, env: {}, interactive: false });
      return { code, ...c.text() };
    };

    it('verify: 0 and the status for a good file, 1 and the reason for a bad one, 2 without a file', async () => {
      const s = syntheticSnapshot(25);
      const good = write('good.db', s.bytes);
      const r = await run(['verify', good]);
      assert.strictEqual(r.code, EXIT.OK, r.err);
      assert.match(r.out, /revision 25, 26 total keys/);
      const b = Buffer.from(s.bytes);
      b[4 * PS + 100] ^= 1;
      const bad = await run(['verify', write('bad.db', b)]);
      assert.strictEqual(bad.code, EXIT.FAILED);
      assert.match(bad.err, /REFUSED .*bad\.db: the sha256 etcd appended/);
      assert.match(bad.err, /what to do:/);
      assert.strictEqual((await run(['verify'])).code, EXIT.USAGE);
      assert.strictEqual((await run(['frobnicate'])).code, EXIT.USAGE);
      assert.strictEqual((await run(['save'])).code, EXIT.USAGE, 'save needs a deployment');
    });

    it('list and delete', async () => {
      const s = syntheticSnapshot(12);
      const f = path.join(dir, snapshotFileName('dep', new Date(), '12'));
      fs.writeFileSync(f, s.bytes);
      fs.writeFileSync(metadataPathOf(f), JSON.stringify(metadataFor(f, s.bytes, 'dep', new Date(), '12')));
      const l = await run(['list', '--dir', dir]);
      assert.strictEqual(l.code, EXIT.OK, l.err);
      assert.match(l.out, new RegExp(`${path.basename(f)}\\s+dep\\s+\\d+s\\s+28 KiB\\s+12\\s+uuid-1\\s+ok`));
      assert.match((await run(['list', '--dir', dir, '--deployment', 'other'])).out, /No snapshots of other/);
      const d = await run(['delete', f]);
      assert.strictEqual(d.code, EXIT.OK);
      assert.ok(!fs.existsSync(f) && !fs.existsSync(metadataPathOf(f)));
    });
  });
});
