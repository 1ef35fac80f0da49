// Parsers for etcdctl (API v3) output as the runbook's commands print it on a master VM:
// `member list` (plain, -w table, -w json), `endpoint status` (3.3 seven columns, 3.4 ten columns,
// plain, table, json), `endpoint health`, `member add|remove|promote`, `alarm list`, and etcdctl's
// error lines. Ids come back as etcdctl's lower-case hex, exact (also from -w json).
// Each parser returns typed values or throws ParseError quoting the offending line. No `vscode`.
import { EndpointHealth, EndpointStatus, EtcdAlarm, EtcdMember } from './types';
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

/** A `member list` row: the contract's EtcdMember plus etcdctl's STATUS column. */
export interface ListedMember extends EtcdMember {
  /** 'unstarted' = added but never joined (etcdctl: empty name). */
  status: 'started' | 'unstarted';
}

/** An `endpoint status` row. `isLeader` is what the table says; `leader` is the leader's id when known. */
export interface ParsedEndpointStatus extends EndpointStatus {
  isLeader: boolean;
  /** Only from -w json. */
  clusterId?: string;
  revision?: string;
}

export interface MemberAddResult {
  memberId: string;
  clusterId: string;
  /** ETCD_NAME */
  name: string;
  /** ETCD_INITIAL_CLUSTER as name → peer URLs (order kept). */
  initialCluster: { name: string; peerURL: string }[];
  /** ETCD_INITIAL_ADVERTISE_PEER_URLS */
  peerURLs: string[];
  /** ETCD_INITIAL_CLUSTER_STATE ("existing") */
  initialClusterState: string;
  /** Every ETCD_*="…" line, unquoted. */
  env: Record<string, string>;
}

export interface MemberChangeResult {
  memberId: string;
  clusterId: string;
}

/** Why an etcdctl command failed, from its stderr (`Error: etcdserver: member not found`). */
export interface EtcdctlFailure {
  /** The `Error: …` text without the prefix, or the last non-log line. */
  message: string;
  /** gRPC code name from the client's retry log line, e.g. 'NotFound', 'FailedPrecondition'. */
  grpcCode?: string;
  reason:
    | 'member-not-found'
    | 'peer-urls-exist'
    | 'member-id-exists'
    | 'unhealthy-cluster'
    | 'not-enough-started'
    | 'learner-not-in-sync'
    | 'too-many-learners'
    | 'not-a-learner'
    /** etcd authentication refused the certificate's user (HashKV, snapshot, membership need root). */
    | 'permission-denied'
    | 'timeout'
    | 'unreachable'
    | 'tls'
    | 'unknown';
}

// ------------------------------------------------------------------------------------------
// helpers

const lines = (text: string): string[] => text.replace(/\r\n?/g, '\n').split('\n');

/** Lines etcdctl (zap logger / cobra) mixes into its output that carry no data. */
function isNoise(line: string): boolean {
  const t = line.trim();
  return t === '' || t.startsWith('{"level":') || /^Error: /.test(t);
}

function hexId(s: string, line: string, n: number, what = 'member id'): string {
  const v = s.trim().toLowerCase();
  if (!isMemberIdHex(v)) throw new ParseError(`Expected a hex ${what}, got ${JSON.stringify(s.trim())}`, line, n);
  return BigInt('0x' + v).toString(16);
}

function bool(s: string, line: string, n: number): boolean {
  const v = s.trim();
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new ParseError(`Expected true/false, got ${JSON.stringify(v)}`, line, n);
}

function uintStr(s: string, line: string, n: number, what: string): string {
  const v = s.trim();
  if (!/^[0-9]+$/.test(v)) throw new ParseError(`Expected a number for ${what}, got ${JSON.stringify(v)}`, line, n);
  return BigInt(v).toString(10);
}

const urlList = (s: string): string[] =>
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

function col(header: string[], name: string, required = true): number {
  const i = header.indexOf(name);
  if (i < 0 && required) throw new ParseError(`etcdctl table has no ${name} column (columns: ${header.join(', ')})`);
  return i;
}

function looksLikeTable(text: string): boolean {
  return /^\s*\+[-+]+\+\s*$/m.test(text);
}

function looksLikeJson(text: string): boolean {
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

function parseJsonText(text: string, what: string): unknown {
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
function jsonId(v: unknown, what: string): string {
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

const jsonUint = (v: unknown): string =>
  typeof v === 'bigint' || typeof v === 'number'
    ? BigInt(v).toString(10)
    : typeof v === 'string' && /^[0-9]+$/.test(v)
      ? v
      : '0';
const strArr = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

// ------------------------------------------------------------------------------------------
// member list

/** `etcdctl member list` in any of its forms (plain, `-w table`, `-w json`), 3.3 or 3.4. */
export function parseMemberList(text: string): ListedMember[] {
  if (looksLikeJson(text)) return parseMemberListJson(text);
  if (looksLikeTable(text)) return parseMemberListTable(text);
  return parseMemberListPlain(text);
}

/** `8e9e05c52164694d, started, infra1, http://…:2380, http://…:2379[, false]` per line. */
export function parseMemberListPlain(text: string): ListedMember[] {
  const out: ListedMember[] = [];
  lines(text).forEach((line, i) => {
    if (isNoise(line)) return;
    const f = line.split(', ');
    if (f.length !== 5 && f.length !== 6) {
      throw new ParseError(
        `Expected "id, status, name, peer URLs, client URLs[, is learner]" (${f.length} fields)`,
        line,
        i + 1,
      );
    }
    const status = f[1].trim();
    if (status !== 'started' && status !== 'unstarted')
      throw new ParseError(`Unknown member status ${JSON.stringify(status)}`, line, i + 1);
    out.push({
      id: hexId(f[0], line, i + 1),
      status,
      name: f[2].trim(),
      peerURLs: urlList(f[3]),
      clientURLs: urlList(f[4]),
      isLearner: f.length === 6 ? bool(f[5], line, i + 1) : false,
    });
  });
  return out;
}

/** `member list -w table`: ID | STATUS | NAME | PEER ADDRS | CLIENT ADDRS [| IS LEARNER]. */
export function parseMemberListTable(text: string): ListedMember[] {
  const { header, rows } = parseAsciiTable(text);
  const [ci, cs, cn, cp, cc] = ['ID', 'STATUS', 'NAME', 'PEER ADDRS', 'CLIENT ADDRS'].map((h) => col(header, h));
  const cl = col(header, 'IS LEARNER', false);
  return rows.map(({ cells, line, lineNumber }) => {
    const status = cells[cs];
    if (status !== 'started' && status !== 'unstarted')
      throw new ParseError(`Unknown member status ${JSON.stringify(status)}`, line, lineNumber);
    return {
      id: hexId(cells[ci], line, lineNumber),
      status,
      name: cells[cn],
      peerURLs: urlList(cells[cp]),
      clientURLs: urlList(cells[cc]),
      isLearner: cl >= 0 ? bool(cells[cl], line, lineNumber) : false,
    };
  });
}

/** `member list -w json` (ids as bare 64-bit numbers, read exactly). Status as etcdctl: empty name = unstarted. */
export function parseMemberListJson(text: string): ListedMember[] {
  const j = parseJsonText(text, 'member list') as { members?: unknown; header?: Record<string, unknown> };
  if (!j || typeof j !== 'object' || !Array.isArray(j.members))
    throw new ParseError('member list JSON has no "members" array');
  // etcdctl 3.5's `--hex` prints every id as a hex string (the header's too) and spells the client
  // URLs' key "clientURLS"; without it, and in 3.4 whatever the flag, ids are JSON numbers.
  const hex = typeof j.header?.member_id === 'string' || typeof j.header?.cluster_id === 'string';
  return j.members.map((m: Record<string, unknown>) => {
    const name = typeof m.name === 'string' ? m.name : '';
    return {
      id: hex ? hexId(String(m.ID), String(m.ID), 0, 'member ID') : jsonId(m.ID, 'member ID'),
      status: name === '' ? 'unstarted' : 'started',
      name,
      peerURLs: strArr(m.peerURLs),
      clientURLs: strArr(m.clientURLs ?? m.clientURLS),
      isLearner: m.isLearner === true,
    } as ListedMember;
  });
}

/** Header of `member list -w json` / `endpoint status -w json` as hex ids. */
export function parseJsonHeader(text: string): { clusterId: string; memberId: string; raftTerm: string } {
  const j = parseJsonText(text, 'etcdctl') as { header?: Record<string, unknown> };
  if (!j || typeof j !== 'object' || !j.header) throw new ParseError('etcdctl JSON has no "header"');
  return {
    clusterId: jsonId(j.header.cluster_id, 'cluster_id'),
    memberId: jsonId(j.header.member_id, 'member_id'),
    raftTerm: jsonUint(j.header.raft_term),
  };
}

// ------------------------------------------------------------------------------------------
// endpoint status

function fillLeader(rows: ParsedEndpointStatus[]): ParsedEndpointStatus[] {
  const leader = rows.find((r) => r.isLeader)?.memberId ?? '';
  for (const r of rows) if (!r.leader) r.leader = leader;
  return rows;
}

const splitErrors = (s: string): string[] =>
  s
    .split(', ')
    .map((e) => e.replace(/\s+/g, ' ').trim())
    .filter((e) => e !== '');

/** `etcdctl endpoint status` in any form: plain/table, 3.3 (7 columns) or 3.4 (10 columns), or -w json. */
export function parseEndpointStatus(text: string): ParsedEndpointStatus[] {
  if (looksLikeJson(text)) return parseEndpointStatusJson(text);
  if (looksLikeTable(text)) return parseEndpointStatusTable(text);
  return parseEndpointStatusPlain(text);
}

/** `-w table`. `leader` is the id of the row marked IS LEADER (empty if no row is). DB SIZE is approximate. */
export function parseEndpointStatusTable(text: string): ParsedEndpointStatus[] {
  const { header, rows } = parseAsciiTable(text);
  const [ce, ci, cv, cd, cld, ct, cx] = [
    'ENDPOINT',
    'ID',
    'VERSION',
    'DB SIZE',
    'IS LEADER',
    'RAFT TERM',
    'RAFT INDEX',
  ].map((h) => col(header, h));
  const clr = col(header, 'IS LEARNER', false);
  const ca = col(header, 'RAFT APPLIED INDEX', false);
  const cerr = col(header, 'ERRORS', false);
  return fillLeader(
    rows.map(({ cells, line, lineNumber }) => {
      const isLeader = bool(cells[cld], line, lineNumber);
      const id = hexId(cells[ci], line, lineNumber);
      let dbSize: number;
      try {
        dbSize = parseHumanBytes(cells[cd]);
      } catch (e) {
        throw new ParseError((e as Error).message, line, lineNumber);
      }
      const r: ParsedEndpointStatus = {
        endpoint: cells[ce],
        memberId: id,
        version: cells[cv],
        dbSize,
        leader: isLeader ? id : '',
        isLeader,
        raftTerm: uintStr(cells[ct], line, lineNumber, 'RAFT TERM'),
        raftIndex: uintStr(cells[cx], line, lineNumber, 'RAFT INDEX'),
        errors: cerr >= 0 ? splitErrors(cells[cerr]) : [],
      };
      if (clr >= 0) r.isLearner = bool(cells[clr], line, lineNumber);
      if (ca >= 0) r.raftAppliedIndex = uintStr(cells[ca], line, lineNumber, 'RAFT APPLIED INDEX');
      return r;
    }),
  );
}

/** Plain `endpoint status`: `ep, id, version, db size, is leader, [is learner,] term, index[, applied index, errors]`. */
export function parseEndpointStatusPlain(text: string): ParsedEndpointStatus[] {
  const out: ParsedEndpointStatus[] = [];
  lines(text).forEach((line, i) => {
    if (isNoise(line) || /^Failed to get the status of endpoint /.test(line.trim())) return;
    const f = line.split(', ');
    const n = i + 1;
    let dbSize: number;
    try {
      dbSize = parseHumanBytes(f[3] ?? '');
    } catch (e) {
      throw new ParseError((e as Error).message, line, n);
    }
    const id = hexId(f[1] ?? '', line, n);
    const isLeader = bool(f[4] ?? '', line, n);
    if (f.length === 7) {
      out.push({
        endpoint: f[0].trim(),
        memberId: id,
        version: f[2].trim(),
        dbSize,
        leader: isLeader ? id : '',
        isLeader,
        raftTerm: uintStr(f[5], line, n, 'raft term'),
        raftIndex: uintStr(f[6], line, n, 'raft index'),
        errors: [],
      });
    } else if (f.length >= 10) {
      out.push({
        endpoint: f[0].trim(),
        memberId: id,
        version: f[2].trim(),
        dbSize,
        leader: isLeader ? id : '',
        isLeader,
        isLearner: bool(f[5], line, n),
        raftTerm: uintStr(f[6], line, n, 'raft term'),
        raftIndex: uintStr(f[7], line, n, 'raft index'),
        raftAppliedIndex: uintStr(f[8], line, n, 'raft applied index'),
        errors: splitErrors(f.slice(9).join(', ')),
      });
    } else {
      throw new ParseError(`Expected 7 (etcd 3.3) or 10 (etcd 3.4) comma-separated fields, got ${f.length}`, line, n);
    }
  });
  return fillLeader(out);
}

/** `endpoint status -w json`: exact ids, sizes and indexes. */
export function parseEndpointStatusJson(text: string): ParsedEndpointStatus[] {
  const j = parseJsonText(text, 'endpoint status');
  if (!Array.isArray(j)) throw new ParseError('endpoint status JSON is not a list');
  return j.map((e: Record<string, unknown>) => {
    const s = (e.Status ?? {}) as Record<string, unknown>;
    const h = (s.header ?? {}) as Record<string, unknown>;
    if (typeof e.Endpoint !== 'string') throw new ParseError('endpoint status JSON entry has no Endpoint');
    const memberId = jsonId(h.member_id, 'member_id');
    const leader = s.leader === undefined ? '' : jsonId(s.leader, 'leader');
    const r: ParsedEndpointStatus = {
      endpoint: e.Endpoint,
      memberId,
      version: typeof s.version === 'string' ? s.version : '',
      dbSize: Number(jsonUint(s.dbSize)),
      leader,
      isLeader: leader !== '' && leader === memberId,
      raftTerm: jsonUint(s.raftTerm),
      raftIndex: jsonUint(s.raftIndex),
      errors: strArr(s.errors),
      clusterId: h.cluster_id === undefined ? undefined : jsonId(h.cluster_id, 'cluster_id'),
      revision: h.revision === undefined ? undefined : jsonUint(h.revision),
    };
    if (s.dbSizeInUse !== undefined) r.dbSizeInUse = Number(jsonUint(s.dbSizeInUse));
    if (s.raftAppliedIndex !== undefined) r.raftAppliedIndex = jsonUint(s.raftAppliedIndex);
    // 3.4 omits isLearner when false (omitempty); 3.3 has no learners.
    r.isLearner = s.isLearner === true;
    if (r.clusterId === undefined) delete r.clusterId;
    if (r.revision === undefined) delete r.revision;
    return r;
  });
}

/** Endpoints named in `Failed to get the status of endpoint <url> (<cause>)` lines (they have no row). */
export function parseEndpointStatusFailures(text: string): { endpoint: string; error: string }[] {
  const out: { endpoint: string; error: string }[] = [];
  for (const line of lines(text)) {
    const m = /^Failed to get the status of endpoint (\S+) \((.*)\)\s*$/.exec(line.trim());
    if (m) out.push({ endpoint: m[1], error: m[2] });
  }
  return out;
}

// ------------------------------------------------------------------------------------------
// endpoint health

/**
 * `endpoint health` (stdout and stderr together are fine): `<url> is healthy: successfully committed
 * proposal: took = 2.345ms` / `<url> is unhealthy: failed to commit proposal: <error>`; also -w table / json.
 * Unhealthy endpoints have tookMs 0 (etcdctl does not print it).
 */
export function parseEndpointHealth(text: string): EndpointHealth[] {
  if (looksLikeJson(text)) {
    const j = parseJsonText(text, 'endpoint health');
    if (!Array.isArray(j)) throw new ParseError('endpoint health JSON is not a list');
    return j.map((e: Record<string, unknown>) => {
      const r: EndpointHealth = {
        endpoint: String(e.endpoint ?? ''),
        healthy: e.health === true,
        tookMs: typeof e.took === 'string' && e.took ? parseGoDuration(e.took) : 0,
      };
      if (typeof e.error === 'string' && e.error) r.error = e.error;
      return r;
    });
  }
  if (looksLikeTable(text)) {
    const { header, rows } = parseAsciiTable(text);
    const [ce, ch, ct] = ['ENDPOINT', 'HEALTH', 'TOOK'].map((h) => col(header, h));
    const cerr = col(header, 'ERROR', false);
    return rows.map(({ cells, line, lineNumber }) => {
      const r: EndpointHealth = {
        endpoint: cells[ce],
        healthy: bool(cells[ch], line, lineNumber),
        tookMs: cells[ct] ? safeDuration(cells[ct], line, lineNumber) : 0,
      };
      if (cerr >= 0 && cells[cerr]) r.error = cells[cerr];
      return r;
    });
  }
  const out: EndpointHealth[] = [];
  lines(text).forEach((line, i) => {
    if (isNoise(line)) return;
    const ok = /^(\S+) is healthy: successfully committed proposal: took = (\S+)\s*$/.exec(line.trim());
    if (ok) {
      out.push({ endpoint: ok[1], healthy: true, tookMs: safeDuration(ok[2], line, i + 1) });
      return;
    }
    const bad = /^(\S+) is unhealthy: (.*)$/.exec(line.trim());
    if (bad) {
      out.push({ endpoint: bad[1], healthy: false, tookMs: 0, error: bad[2].trim() });
      return;
    }
    throw new ParseError('Expected "<endpoint> is healthy: …" or "<endpoint> is unhealthy: …"', line, i + 1);
  });
  return out;
}

function safeDuration(s: string, line: string, n: number): number {
  try {
    return parseGoDuration(s);
  } catch (e) {
    throw new ParseError((e as Error).message, line, n);
  }
}

// ------------------------------------------------------------------------------------------
// member add / remove / promote

function unquote(v: string): string {
  const t = v.trim();
  if (t.length >= 2 && t.startsWith('"') && t.endsWith('"')) return t.slice(1, -1);
  return t;
}

/**
 * `member add` output: `Member 5a… added to cluster 6d…`, a blank line, then
 * ETCD_NAME / ETCD_INITIAL_CLUSTER / ETCD_INITIAL_ADVERTISE_PEER_URLS / ETCD_INITIAL_CLUSTER_STATE.
 */
export function parseMemberAdd(text: string): MemberAddResult {
  let head: RegExpExecArray | null = null;
  const env: Record<string, string> = {};
  lines(text).forEach((line, i) => {
    if (isNoise(line)) return;
    const m = /^Member ([0-9a-fA-F]+) added to cluster ([0-9a-fA-F]+)\s*$/.exec(line.trim());
    if (m) {
      head = m;
      return;
    }
    const kv = /^(ETCD_[A-Z_]+)=(.*)$/.exec(line.trim());
    if (kv) {
      env[kv[1]] = unquote(kv[2]);
      return;
    }
    throw new ParseError('Unexpected line in `member add` output', line, i + 1);
  });
  if (!head) throw new ParseError('`member add` output has no "Member <id> added to cluster <id>" line');
  const h = head as RegExpExecArray;
  const initialCluster: { name: string; peerURL: string }[] = [];
  for (const part of (env.ETCD_INITIAL_CLUSTER ?? '').split(',')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    if (eq < 0) throw new ParseError(`ETCD_INITIAL_CLUSTER entry without '=': ${JSON.stringify(part)}`);
    initialCluster.push({ name: part.slice(0, eq), peerURL: part.slice(eq + 1) });
  }
  return {
    memberId: hexId(h[1], h[0], 1),
    clusterId: hexId(h[2], h[0], 1, 'cluster id'),
    name: env.ETCD_NAME ?? '',
    initialCluster,
    peerURLs: urlList(env.ETCD_INITIAL_ADVERTISE_PEER_URLS ?? ''),
    initialClusterState: env.ETCD_INITIAL_CLUSTER_STATE ?? '',
    env,
  };
}

function parseMemberChange(text: string, verb: 'removed from' | 'promoted in', cmd: string): MemberChangeResult {
  const re = new RegExp(`^Member ([0-9a-fA-F]+) ${verb} cluster ([0-9a-fA-F]+)\\s*$`);
  let found: MemberChangeResult | undefined;
  lines(text).forEach((line, i) => {
    if (isNoise(line)) return;
    const m = re.exec(line.trim());
    if (!m) throw new ParseError(`Unexpected line in \`${cmd}\` output`, line, i + 1);
    found = { memberId: hexId(m[1], line, i + 1), clusterId: hexId(m[2], line, i + 1, 'cluster id') };
  });
  if (!found) throw new ParseError(`\`${cmd}\` output has no "Member <id> ${verb} cluster <id>" line`);
  return found;
}

/** `Member 18ac61d8503c2eb removed from cluster 6d938e3be5102340` */
export function parseMemberRemove(text: string): MemberChangeResult {
  return parseMemberChange(text, 'removed from', 'member remove');
}

/** `Member 6639b096b9aeedf6 promoted in cluster 75005ab792f74204` (3.4+) */
export function parseMemberPromote(text: string): MemberChangeResult {
  return parseMemberChange(text, 'promoted in', 'member promote');
}

// ------------------------------------------------------------------------------------------
// alarms

const ALARM_NAMES = ['NONE', 'NOSPACE', 'CORRUPT'];

/** `alarm list`: `memberID:17254859148753933417 alarm:NOSPACE ` (decimal id) per line, or -w json. Empty = no alarms. */
export function parseAlarmList(text: string): EtcdAlarm[] {
  if (looksLikeJson(text)) {
    const j = parseJsonText(text, 'alarm list') as { alarms?: unknown };
    if (!j || typeof j !== 'object') throw new ParseError('alarm list JSON is not an object');
    const arr = Array.isArray(j.alarms) ? j.alarms : [];
    return arr.map((a: Record<string, unknown>) => ({
      memberId: jsonId(a.memberID, 'memberID'),
      alarm:
        typeof a.alarm === 'number'
          ? (ALARM_NAMES[a.alarm] ?? String(a.alarm))
          : typeof a.alarm === 'string'
            ? a.alarm
            : 'NONE',
    }));
  }
  const out: EtcdAlarm[] = [];
  lines(text).forEach((line, i) => {
    if (isNoise(line)) return;
    const m = /^memberID:([0-9]+)\s+alarm:([A-Z_]+)\s*$/.exec(line.trim());
    if (!m) throw new ParseError('Expected "memberID:<decimal id> alarm:<NAME>"', line, i + 1);
    let id: string;
    try {
      id = decToHex(m[1]);
    } catch (e) {
      throw new ParseError((e as Error).message, line, i + 1);
    }
    out.push({ memberId: id, alarm: m[2] });
  });
  return out;
}

// ------------------------------------------------------------------------------------------
// errors

/** Classifies etcdctl's stderr (`Error: etcdserver: member not found` plus the client's retry log line). */
export function parseEtcdctlError(stderr: string): EtcdctlFailure {
  let message = '';
  let grpcCode: string | undefined;
  const other: string[] = [];
  const logs: string[] = [];
  for (const line of lines(stderr)) {
    const t = line.trim();
    if (!t) continue;
    const e = /^Error:\s*(.*)$/.exec(t);
    if (e) {
      message = e[1];
      continue;
    }
    if (t.startsWith('{"level":')) {
      const c = /rpc error: code = (\w+) desc/.exec(t);
      if (c) grpcCode = c[1];
      logs.push(t);
      continue;
    }
    other.push(t);
  }
  if (!message) message = other.length ? other[other.length - 1] : stderr.trim();
  const all = `${message}\n${other.join('\n')}\n${logs.join('\n')}`;
  const reason: EtcdctlFailure['reason'] = /member not found/i.test(message)
    ? 'member-not-found'
    : /peer ?urls already exists/i.test(message)
      ? 'peer-urls-exist'
      : /member id already exist/i.test(message)
        ? 'member-id-exists'
        : /not enough started members/i.test(message)
          ? 'not-enough-started'
          : /unhealthy cluster/i.test(message)
            ? 'unhealthy-cluster'
            : /learner member which is in sync/i.test(message)
              ? 'learner-not-in-sync'
              : /too many learner/i.test(message)
                ? 'too-many-learners'
                : /can only promote a learner member/i.test(message)
                  ? 'not-a-learner'
                  : /permission denied|auth: user not found|user name not found/i.test(message)
                    ? 'permission-denied'
                    : /certificate|x509|tls:/i.test(all)
                      ? 'tls'
                      : /connection refused|no route to host|all SubConns|transport: Error while dialing/i.test(all)
                        ? 'unreachable'
                        : /deadline exceeded|timed out/i.test(message)
                          ? 'timeout'
                          : 'unknown';
  const out: EtcdctlFailure = { message, reason };
  if (grpcCode) out.grpcCode = grpcCode;
  return out;
}
