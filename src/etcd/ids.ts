// etcd member ids are unsigned 64-bit integers. etcdctl prints them in hex (`8e9e05c52164694d`),
// the etcd3 client hands them out as decimal strings (`10276657743932975437`), and
// `etcdctl -w json` prints them as bare JSON numbers that JSON.parse silently rounds above 2^53.
// Everything here is BigInt-exact. No `vscode` import.

const HEX_ID = /^[0-9a-f]{1,16}$/;
const DEC_ID = /^[0-9]{1,20}$/;
const U64_MAX = (1n << 64n) - 1n;

/** True for a member id as etcdctl prints it: 1–16 lower-case hex digits. */
export function isMemberIdHex(s: unknown): s is string {
  return typeof s === 'string' && HEX_ID.test(s);
}

/** True for a member id as the etcd3 client returns it: a decimal string that fits in 64 bits. */
export function isMemberIdDec(s: unknown): s is string {
  return typeof s === 'string' && DEC_ID.test(s) && BigInt(s) <= U64_MAX;
}

/** `'10276657743932975437'` → `'8e9e05c52164694d'` (exact). Throws on anything that is not a uint64 decimal. */
export function decToHex(dec: string): string {
  if (!isMemberIdDec(dec)) {
    throw new RangeError(`Not an etcd member id (expected a decimal uint64 string): ${JSON.stringify(dec)}`);
  }
  return BigInt(dec).toString(16);
}

/** `'8e9e05c52164694d'` → `'10276657743932975437'` (exact). Accepts upper case and a `0x` prefix; throws otherwise. */
export function hexToDec(hex: string): string {
  const h = normalizeHexId(hex);
  return BigInt('0x' + h).toString(10);
}

/**
 * Normalises a hex member id the operator typed or another tool printed: trims, drops `0x`,
 * lower-cases and drops leading zeros (etcdctl prints `%x`, no padding). Throws if it is not an id.
 */
export function normalizeHexId(hex: string): string {
  if (typeof hex !== 'string') throw new RangeError(`Not an etcd member id: ${String(hex)}`);
  let h = hex.trim().toLowerCase();
  if (h.startsWith('0x')) h = h.slice(2);
  if (!HEX_ID.test(h)) {
    throw new RangeError(
      `Not an etcd member id (expected 1-16 hex digits as etcdctl prints them): ${JSON.stringify(hex)}`,
    );
  }
  return BigInt('0x' + h).toString(16);
}

/**
 * Any id representation → etcdctl's hex: a bigint, a safe-integer number, a decimal string
 * (etcd3 client) or a hex string. Numbers beyond 2^53 are refused: they are already rounded.
 * Strings of 17–20 decimal digits are decimal; 1–16 chars containing a–f are hex; pure digits of
 * ≤16 chars are ambiguous and read as DECIMAL (the etcd3 client's form) — pass `as` to force.
 */
export function toHexId(v: bigint | number | string, as?: 'hex' | 'dec'): string {
  if (typeof v === 'bigint') {
    if (v < 0n || v > U64_MAX) throw new RangeError(`Member id out of uint64 range: ${v}`);
    return v.toString(16);
  }
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new RangeError(
        `Member id ${v} is not exact (JSON numbers above 2^53 lose precision): read it with parseJsonExact`,
      );
    }
    return v.toString(16);
  }
  if (as === 'hex') return normalizeHexId(v);
  if (as === 'dec') return decToHex(v.trim());
  const s = v.trim();
  if (/^[0-9]+$/.test(s)) return decToHex(s);
  return normalizeHexId(s);
}

/** Same id? Compares hex ids numerically (leading zeros, case). */
export function sameMemberId(a: string, b: string): boolean {
  try {
    return normalizeHexId(a) === normalizeHexId(b);
  } catch {
    return false;
  }
}

export class JsonExactError extends SyntaxError {
  constructor(
    message: string,
    public readonly position: number,
  ) {
    super(message);
    this.name = 'JsonExactError';
  }
}

/**
 * JSON.parse that keeps integers exact: integers outside Number's safe range come back as
 * `bigint` (all other numbers as `number`), so `etcdctl -w json` ids survive. Strict JSON
 * (RFC 8259); throws JsonExactError quoting the position.
 */
export function parseJsonExact(text: string): unknown {
  let i = 0;
  const n = text.length;

  const fail = (what: string): never => {
    const near = text.slice(Math.max(0, i - 20), i + 20).replace(/\s+/g, ' ');
    throw new JsonExactError(`Invalid JSON at position ${i}: ${what} (near ${JSON.stringify(near)})`, i);
  };
  const ws = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
  };
  const value = (depth: number): unknown => {
    if (depth > 512) fail('nesting too deep');
    ws();
    if (i >= n) fail('unexpected end of input');
    const c = text[i];
    if (c === '{') {
      i++;
      const obj: Record<string, unknown> = {};
      ws();
      if (text[i] === '}') {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a string key');
        const k = str();
        ws();
        if (text[i] !== ':') fail("expected ':'");
        i++;
        const v = value(depth + 1);
        // Define, so a "__proto__" key is plain data.
        Object.defineProperty(obj, k, { value: v, enumerable: true, writable: true, configurable: true });
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return obj;
        }
        fail("expected ',' or '}'");
      }
    }
    if (c === '[') {
      i++;
      const arr: unknown[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value(depth + 1));
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return arr;
        }
        fail("expected ',' or ']'");
      }
    }
    if (c === '"') return str();
    if (c === '-' || (c >= '0' && c <= '9')) return num();
    if (text.startsWith('true', i)) {
      i += 4;
      return true;
    }
    if (text.startsWith('false', i)) {
      i += 5;
      return false;
    }
    if (text.startsWith('null', i)) {
      i += 4;
      return null;
    }
    return fail(`unexpected character ${JSON.stringify(c)}`);
  };
  const str = (): string => {
    const start = i;
    i++; // opening quote
    // Find the closing quote, validating escapes; let JSON.parse decode the literal.
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return JSON.parse(text.slice(start, i)) as string;
      }
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail('bad \\u escape');
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) {
          i += 2;
        } else {
          fail('bad escape');
        }
        continue;
      }
      if (c < 0x20) fail('control character in string');
      i++;
    }
    return fail('unterminated string');
  };
  const num = (): number | bigint => {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 400));
    if (!m) return fail('bad number');
    const lit = m[0];
    i += lit.length;
    if (m[2] === undefined && m[3] === undefined) {
      const asNum = Number(lit);
      if (Number.isSafeInteger(asNum)) return asNum;
      return BigInt(lit);
    }
    return Number(lit);
  };

  const result = value(0);
  ws();
  if (i < n) fail('unexpected text after the JSON value');
  return result;
}
