// Parsers for etcdctl's view of the endpoints: `endpoint status` (3.3 seven columns, 3.4 ten columns;
// plain, table, json), `endpoint health`, `alarm list` and `snapshot status -w table`. No `vscode`.
import type { EndpointHealth, EndpointStatus, EtcdAlarm } from './types';
import { decToHex } from './ids';
import {
  ParseError,
  bool,
  col,
  hexId,
  isNoise,
  jsonId,
  jsonUint,
  lines,
  looksLikeJson,
  looksLikeTable,
  parseAsciiTable,
  parseGoDuration,
  parseHumanBytes,
  parseJsonText,
  safeDuration,
  strArr,
  uintStr,
} from './etcdctlText';

/** An `endpoint status` row. `isLeader` is what the table says; `leader` is the leader's id when known. */
export interface ParsedEndpointStatus extends EndpointStatus {
  isLeader: boolean;
  /** Only from -w json. */
  clusterId?: string;
  revision?: string;
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

// ------------------------------------------------------------------------------------------
// snapshot status

export interface SnapshotStatus {
  /** The keyspace hash, as etcdctl prints it (hex). */
  hash: string;
  revision: string;
  totalKeys: number;
  /** Bytes (approximate: etcdctl prints "2.1 MB"). */
  totalSize: number;
}

/** `snapshot status -w table`: HASH | REVISION | TOTAL KEYS | TOTAL SIZE, one row. */
export function parseSnapshotStatus(text: string): SnapshotStatus {
  const { header, rows } = parseAsciiTable(text);
  const [ch, cr, ck, cs] = ['HASH', 'REVISION', 'TOTAL KEYS', 'TOTAL SIZE'].map((h) => col(header, h));
  if (rows.length !== 1) throw new ParseError(`\`snapshot status\` table has ${rows.length} rows, expected one`);
  const { cells, line, lineNumber } = rows[0];
  if (!/^[0-9a-f]+$/i.test(cells[ch]))
    throw new ParseError(`Expected a hex hash, got ${JSON.stringify(cells[ch])}`, line, lineNumber);
  let totalSize: number;
  try {
    totalSize = parseHumanBytes(cells[cs]);
  } catch (e) {
    throw new ParseError((e as Error).message, line, lineNumber);
  }
  return {
    hash: cells[ch].toLowerCase(),
    revision: uintStr(cells[cr], line, lineNumber, 'REVISION'),
    totalKeys: Number(uintStr(cells[ck], line, lineNumber, 'TOTAL KEYS')),
    totalSize,
  };
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
