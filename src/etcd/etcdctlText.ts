// The text layer under the etcdctl parsers: ParseError, line and value readers, etcdctl's ASCII
// tables and its JSON (64-bit ids read exactly). No `vscode` import here.
import { decToHex, isMemberIdHex, parseJsonExact, toHexId } from './ids';

export class ParseError extends Error {
  constructor(
    message: string,
    /** The offending line (verbatim), when there is one. */
    public readonly line?: string,
    /** 1-based line number within the parsed text. */
    public readonly lineNumber?: number,
  ) {
    super(line !== undefined ? `${message} (line ${lineNumber ?? '?'}: ${JSON.stringify(line)})` : message);
    this.name = 'ParseError';
  }
}

export const lines = (text: string): string[] => text.replace(/\r\n?/g, '\n').split('\n');

/** Lines etcdctl (zap logger / cobra) mixes into its output that carry no data. */
export function isNoise(line: string): boolean {
  const t = line.trim();
  return t === '' || t.startsWith('{"level":') || /^Error: /.test(t);
}

export function hexId(s: string, line: string, n: number, what = 'member id'): string {
  const v = s.trim().toLowerCase();
  if (!isMemberIdHex(v)) throw new ParseError(`Expected a hex ${what}, got ${JSON.stringify(s.trim())}`, line, n);
  return BigInt('0x' + v).toString(16);
}

export function bool(s: string, line: string, n: number): boolean {
  const v = s.trim();
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new ParseError(`Expected true/false, got ${JSON.stringify(v)}`, line, n);
}

export function uintStr(s: string, line: string, n: number, what: string): string {
  const v = s.trim();
  if (!/^[0-9]+$/.test(v)) throw new ParseError(`Expected a number for ${what}, got ${JSON.stringify(v)}`, line, n);
  return BigInt(v).toString(10);
}

export const urlList = (s: string): string[] =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');

/**
 * go-humanize `Bytes` text (etcdctl's DB SIZE column: "20 kB", "1.2 MB", "999 B") → bytes.
 * SI units (1000). Approximate by nature; -w json gives exact sizes.
 */
export function parseHumanBytes(s: string): number {
  const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*([kMGTPE]?B)\s*$/i.exec(s);
  if (!m) throw new ParseError(`Expected a size like "20 kB", got ${JSON.stringify(s)}`);
  const units: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, pb: 1e15, eb: 1e18 };
  return Math.round(Number(m[1]) * units[m[2].toLowerCase()]);
}

/** Go `time.Duration.String()` ("2.952623ms", "850µs", "1m2.5s", "0s") → milliseconds. */
export function parseGoDuration(s: string): number {
  const v = s.trim();
  if (v === '0' || v === '0s') return 0;
  const re = /([0-9]+(?:\.[0-9]+)?)(ns|us|µs|μs|ms|s|m|h)/gy;
  const scale: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3 };
  let total = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  re.lastIndex = 0;
  while ((m = re.exec(v)) !== null) {
    total += Number(m[1]) * scale[m[2]];
    pos = re.lastIndex;
  }
  if (pos !== v.length || pos === 0)
    throw new ParseError(`Expected a Go duration like "2.3ms", got ${JSON.stringify(s)}`);
  return total;
}

/**
 * An etcdctl/tablewriter ASCII table → header names (upper case) and rows of cell strings.
 * Columns are cut at the `+` positions of the border line, so cells may contain anything;
 * a row whose first cell is empty continues the previous row (tablewriter wraps long cells).
 */
export function parseAsciiTable(text: string): {
  header: string[];
  rows: { cells: string[]; line: string; lineNumber: number }[];
} {
  const ls = lines(text);
  const borderIdx = ls.findIndex((l) => /^\s*\+[-+]+\+\s*$/.test(l));
  if (borderIdx < 0) {
    const first = ls.findIndex((l) => !isNoise(l));
    throw new ParseError(
      'Expected an etcdctl table (a +----+ border line)',
      first >= 0 ? ls[first] : undefined,
      first >= 0 ? first + 1 : undefined,
    );
  }
  const border = ls[borderIdx];
  const cuts: number[] = [];
  for (let i = 0; i < border.length; i++) if (border[i] === '+') cuts.push(i);
  const cellsOf = (l: string) => {
    const out: string[] = [];
    for (let c = 0; c + 1 < cuts.length; c++) out.push(l.slice(cuts[c] + 1, cuts[c + 1]).trim());
    return out;
  };
  let header: string[] | undefined;
  const rows: { cells: string[]; line: string; lineNumber: number }[] = [];
  for (let i = borderIdx + 1; i < ls.length; i++) {
    const l = ls[i];
    if (/^\s*\+[-+]+\+\s*$/.test(l)) continue;
    if (isNoise(l)) continue;
    if (!/^\s*\|.*\|\s*$/.test(l)) throw new ParseError('Unexpected line in an etcdctl table', l, i + 1);
    for (const c of cuts) {
      if (l[c] !== '|') throw new ParseError('Table row does not line up with the table border', l, i + 1);
    }
    const cells = cellsOf(l);
    if (!header) {
      header = cells.map((h) => h.toUpperCase());
      continue;
    }
    if (rows.length > 0 && cells[0] === '' && cells.some((c) => c !== '')) {
      const prev = rows[rows.length - 1];
      prev.cells = prev.cells.map((p, k) => (cells[k] ? (p ? `${p} ${cells[k]}` : cells[k]) : p));
      continue;
    }
    rows.push({ cells, line: l, lineNumber: i + 1 });
  }
  if (!header) throw new ParseError('etcdctl table has no header row');
  return { header, rows };
}

export function col(header: string[], name: string, required = true): number {
  const i = header.indexOf(name);
  if (i < 0 && required) throw new ParseError(`etcdctl table has no ${name} column (columns: ${header.join(', ')})`);
  return i;
}

export function looksLikeTable(text: string): boolean {
  return /^\s*\+[-+]+\+\s*$/m.test(text);
}

export function looksLikeJson(text: string): boolean {
  const t = text.trimStart();
  return (
    t.startsWith('{"header"') ||
    t.startsWith('{"members"') ||
    t.startsWith('[{') ||
    t.startsWith('{"alarms"') ||
    t === '[]' ||
    t.startsWith('{ "')
  );
}

export function parseJsonText(text: string, what: string): unknown {
  // Drop log lines etcdctl writes to the same stream.
  const body = lines(text)
    .filter((l) => !isNoise(l) || l.trim().startsWith('{"header"'))
    .join('\n');
  try {
    return parseJsonExact(body);
  } catch (e) {
    throw new ParseError(`Cannot read ${what} JSON: ${(e as Error).message}`);
  }
}

/** A JSON id value (number, bigint or decimal string) → hex. */
export function jsonId(v: unknown, what: string): string {
  if (typeof v === 'bigint' || typeof v === 'number') {
    try {
      return toHexId(v);
    } catch (e) {
      throw new ParseError(`${what}: ${(e as Error).message}`);
    }
  }
  if (typeof v === 'string' && /^[0-9]+$/.test(v)) return decToHex(v);
  throw new ParseError(`${what}: expected an integer id, got ${JSON.stringify(String(v))}`);
}

export const jsonUint = (v: unknown): string =>
  typeof v === 'bigint' || typeof v === 'number'
    ? BigInt(v).toString(10)
    : typeof v === 'string' && /^[0-9]+$/.test(v)
      ? v
      : '0';
export const strArr = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];

export function safeDuration(s: string, line: string, n: number): number {
  try {
    return parseGoDuration(s);
  } catch (e) {
    throw new ParseError((e as Error).message, line, n);
  }
}

export function unquote(v: string): string {
  const t = v.trim();
  if (t.length >= 2 && t.startsWith('"') && t.endsWith('"')) return t.slice(1, -1);
  return t;
}
