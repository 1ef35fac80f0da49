// Read-only walk of a bbolt file (etcd's backend, and what etcd's Snapshot RPC streams), enough to
// check that a snapshot is a bbolt database and to compute what `etcdctl snapshot status` prints:
// the revision (the highest in etcd's "key" bucket), the total key count and the CRC-32C hash of
// every bucket name, key and value. Pages are read one at a time from the file: memory stays at a
// few pages whatever the database size. Layout (little-endian, as bbolt writes it on x86/arm):
//   page header: id u64, flags u16, count u16, overflow u32 (16 bytes)
//   meta (pages 0 and 1, after the header): magic u32 0xED0CDAED, version u32 (2), pageSize u32,
//     flags u32, root bucket {root pgid u64, sequence u64}, freelist u64, high-water pgid u64,
//     txid u64, checksum u64 = FNV-1a 64 of the 56 bytes before it
//   branch element: pos u32, ksize u32, pgid u64; leaf element: flags u32, pos u32, ksize u32,
//     vsize u32 (pos counts from the element itself); a leaf element with flag 1 is a bucket whose
//     value is {root u64, sequence u64}, root 0 meaning the bucket's page follows inline.
// Plain Node, no `vscode`.
import * as fs from 'fs';

export const BOLT_MAGIC = 0xed0cdaed;
const BOLT_VERSION = 2;
const PAGE_HEADER = 16;
const META_CHECKSUMMED = 56;
const ELEMENT = 16;
const BRANCH_PAGE = 0x01;
const LEAF_PAGE = 0x02;
const META_PAGE = 0x04;
const BUCKET_LEAF = 0x01;
const MAX_DEPTH = 64;
/** Buffer index where a bucket's own walk starts (above any depth of the root bucket's walk). */
const NESTED_BUFFERS = MAX_DEPTH + 1;

export class BoltFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BoltFormatError';
  }
}

export interface BoltMeta {
  pageSize: number;
  rootPgid: bigint;
  /** High-water mark: the database holds exactly this many pages. */
  pageCount: bigint;
  txid: bigint;
}

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const U64 = (1n << 64n) - 1n;

function fnv1a64(b: Buffer): bigint {
  let h = FNV_OFFSET;
  for (const byte of b) h = ((h ^ BigInt(byte)) * FNV_PRIME) & U64;
  return h;
}

/** Slicing-by-8 tables: table k maps a byte k positions before the end of an 8-byte block. */
let crcTables: Uint32Array[] | undefined;
function tables(): Uint32Array[] {
  if (!crcTables) {
    const t0 = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
      t0[n] = c >>> 0;
    }
    crcTables = [t0];
    for (let k = 1; k < 8; k++) {
      const prev = crcTables[k - 1];
      const t = new Uint32Array(256);
      for (let n = 0; n < 256; n++) t[n] = (t0[prev[n] & 0xff] ^ (prev[n] >>> 8)) >>> 0;
      crcTables.push(t);
    }
  }
  return crcTables;
}

/**
 * CRC-32C (Castagnoli), continuing from `crc` (0 to start), as Go's hash/crc32 computes it. Eight
 * bytes per step (slicing-by-8): a snapshot's every key and value goes through here.
 */
export function crc32c(crc: number, b: Buffer): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = tables();
  let c = ~crc >>> 0;
  let i = 0;
  const end8 = b.length - (b.length % 8);
  for (; i < end8; i += 8) {
    const lo = (c ^ (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24))) >>> 0;
    c =
      t7[lo & 0xff] ^
      t6[(lo >>> 8) & 0xff] ^
      t5[(lo >>> 16) & 0xff] ^
      t4[lo >>> 24] ^
      t3[b[i + 4]] ^
      t2[b[i + 5]] ^
      t1[b[i + 6]] ^
      t0[b[i + 7]];
  }
  for (; i < b.length; i++) c = t0[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** Parses a meta page; undefined when it is not a valid bbolt meta (magic, version, checksum). */
export function parseMeta(page: Buffer): { meta?: BoltMeta; problem?: string } {
  if (page.length < PAGE_HEADER + META_CHECKSUMMED + 8) return { problem: 'too short for a bbolt meta page' };
  const m = page.subarray(PAGE_HEADER);
  const magic = m.readUInt32LE(0);
  if (magic !== BOLT_MAGIC)
    return { problem: `no bbolt magic (found 0x${magic.toString(16).padStart(8, '0')}, expected 0xed0cdaed)` };
  if ((page.readUInt16LE(8) & META_PAGE) === 0) return { problem: 'the page is not flagged as a meta page' };
  const version = m.readUInt32LE(4);
  if (version !== BOLT_VERSION) return { problem: `bbolt version ${version} (expected ${BOLT_VERSION})` };
  const checksum = m.readBigUInt64LE(META_CHECKSUMMED);
  if (checksum !== fnv1a64(m.subarray(0, META_CHECKSUMMED))) return { problem: 'meta page checksum mismatch' };
  return {
    meta: {
      pageSize: m.readUInt32LE(8),
      rootPgid: m.readBigUInt64LE(16),
      pageCount: m.readBigUInt64LE(40),
      txid: m.readBigUInt64LE(48),
    },
  };
}

export interface BoltStatus {
  /** etcd's revision: the main revision of the last key of the "key" bucket ("0" when it is empty). */
  revision: string;
  /** Keys in every bucket, as `etcdctl snapshot status` counts them. */
  totalKeys: number;
  /** CRC-32C of bucket names, keys and values in order, as `etcdctl snapshot status` prints it. */
  hash: number;
  /** Bytes of the database (page count × page size), without etcd's appended sha256. */
  totalSize: number;
  buckets: string[];
}

/** Random-access reader of one bbolt file (the first `dbBytes` bytes of it). */
export class BoltReader {
  private constructor(
    private readonly fd: number,
    readonly meta: BoltMeta,
    private readonly dbBytes: number,
  ) {}

  /**
   * Opens the database part of `file` (its first `dbBytes` bytes; default the whole file): picks
   * the valid meta page with the highest txid, as bbolt does. Throws BoltFormatError otherwise.
   */
  static open(file: string, dbBytes?: number): BoltReader {
    const fd = fs.openSync(file, 'r');
    try {
      const size = dbBytes ?? fs.fstatSync(fd).size;
      const head = Buffer.alloc(Math.min(size, 4096));
      fs.readSync(fd, head, 0, head.length, 0);
      const first = parseMeta(head);
      const candidates: BoltMeta[] = first.meta ? [first.meta] : [];
      // The second meta page sits one page further; without a readable first page, try the sizes bbolt tries.
      const sizes = first.meta ? [first.meta.pageSize] : Array.from({ length: 15 }, (_, i) => 1024 << i);
      for (const ps of sizes) {
        if (ps >= size) break;
        const b = Buffer.alloc(Math.min(4096, size - ps));
        fs.readSync(fd, b, 0, b.length, ps);
        const second = parseMeta(b);
        if (second.meta) {
          candidates.push(second.meta);
          break;
        }
      }
      if (!candidates.length) throw new BoltFormatError(`not a bbolt database: ${first.problem}`);
      const meta = candidates.reduce((a, b) => (b.txid > a.txid ? b : a));
      if (meta.pageSize < 512 || meta.pageSize > 1 << 24 || (meta.pageSize & (meta.pageSize - 1)) !== 0)
        throw new BoltFormatError(`bbolt meta page has an impossible page size ${meta.pageSize}`);
      const expected = meta.pageCount * BigInt(meta.pageSize);
      if (BigInt(size) < expected)
        throw new BoltFormatError(
          `truncated: the database needs ${expected} bytes (${meta.pageCount} pages of ${meta.pageSize}) but has ${size}`,
        );
      return new BoltReader(fd, meta, Number(expected));
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  close(): void {
    fs.closeSync(this.fd);
  }

  /** One reusable buffer per tree depth: a walk of any size allocates only a few pages. */
  private readonly buffers: Buffer[] = [];
  private readonly head = Buffer.alloc(PAGE_HEADER);

  /** The page (with its overflow pages) at pgid, in the buffer of `depth` (valid until the next read at that depth). */
  private page(pgid: bigint, depth: number): Buffer {
    if (pgid < 2n || pgid >= this.meta.pageCount)
      throw new BoltFormatError(`page id ${pgid} is outside the database (${this.meta.pageCount} pages)`);
    const ps = this.meta.pageSize;
    const pos = Number(pgid) * ps;
    const head = this.head;
    fs.readSync(this.fd, head, 0, PAGE_HEADER, pos);
    const overflow = head.readUInt32LE(12);
    const len = (overflow + 1) * ps;
    if (pos + len > this.dbBytes) throw new BoltFormatError(`page ${pgid} runs past the end of the database`);
    if (!this.buffers[depth] || this.buffers[depth].length < len) this.buffers[depth] = Buffer.alloc(len);
    const b = this.buffers[depth].subarray(0, len);
    fs.readSync(this.fd, b, 0, len, pos);
    if (b.readBigUInt64LE(0) !== pgid)
      throw new BoltFormatError(`page ${pgid} identifies itself as ${b.readBigUInt64LE(0)}`);
    return b;
  }

  /**
   * Visits every key/value of the bucket whose root is `root` (a page id, or an inline page) in
   * key order. `value` is undefined for a nested bucket.
   */
  private forEach(
    root: bigint | Buffer,
    visit: (key: Buffer, value: Buffer | undefined, flags: number) => void,
    depth = 0,
    /** Buffers of a nested walk start here, so the enclosing walk's pages stay intact. */
    bufferBase = 0,
  ): void {
    if (depth > MAX_DEPTH)
      throw new BoltFormatError('the B+tree is deeper than any real database: the file is damaged');
    const p = typeof root === 'bigint' ? this.page(root, bufferBase + depth) : root;
    const flags = p.readUInt16LE(8);
    const count = p.readUInt16LE(10);
    for (let i = 0; i < count; i++) {
      const at = PAGE_HEADER + i * ELEMENT;
      if (at + ELEMENT > p.length) throw new BoltFormatError('page element past the end of its page');
      if (flags & BRANCH_PAGE) {
        this.forEach(p.readBigUInt64LE(at + 8), visit, depth + 1, bufferBase);
      } else if (flags & LEAF_PAGE) {
        const eflags = p.readUInt32LE(at);
        const kpos = at + p.readUInt32LE(at + 4);
        const ksize = p.readUInt32LE(at + 8);
        const vsize = p.readUInt32LE(at + 12);
        if (kpos + ksize + vsize > p.length) throw new BoltFormatError('key or value past the end of its page');
        const key = p.subarray(kpos, kpos + ksize);
        const value = p.subarray(kpos + ksize, kpos + ksize + vsize);
        visit(key, value, eflags);
      } else {
        throw new BoltFormatError(`unexpected page type 0x${flags.toString(16)} inside a bucket`);
      }
    }
  }

  /** Root of a bucket from its header value: a page id, or the inline page that follows the header. */
  private static bucketRoot(value: Buffer): bigint | Buffer {
    if (value.length < 16) throw new BoltFormatError('bucket header shorter than 16 bytes');
    const root = value.readBigUInt64LE(0);
    return root === 0n ? value.subarray(16) : root;
  }

  /** What `etcdctl snapshot status` reports, from a full walk of every bucket (reads the whole file once). */
  status(): BoltStatus {
    let hash = 0;
    let totalKeys = 0;
    let revision = 0n;
    const buckets: string[] = [];
    this.forEach(this.meta.rootPgid, (name, value, flags) => {
      if (!(flags & BUCKET_LEAF) || !value) return;
      buckets.push(name.toString('latin1'));
      hash = crc32c(hash, name);
      const isKeyBucket = name.toString('latin1') === 'key';
      this.forEach(
        BoltReader.bucketRoot(value),
        (k, v, f) => {
          hash = crc32c(hash, k);
          // bbolt's ForEach hands a nested bucket's value as nil; etcd has none.
          if (v && !(f & BUCKET_LEAF)) hash = crc32c(hash, v);
          if (isKeyBucket && k.length >= 8) revision = k.readBigUInt64BE(0);
          totalKeys++;
        },
        0,
        NESTED_BUFFERS,
      );
    });
    return {
      revision: String(revision),
      totalKeys,
      hash,
      totalSize: Number(this.meta.pageCount) * this.meta.pageSize,
      buckets,
    };
  }
}
