// Parsers for etcdctl's membership output: `member list` (plain, -w table, -w json, 3.3 and 3.4) and
// the answers to `member add|remove|promote`. Ids come back as etcdctl's lower-case hex. No `vscode`.
import type { EtcdMember } from './types';
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
  parseJsonText,
  strArr,
  unquote,
  urlList,
} from './etcdctlText';

/** A `member list` row: the contract's EtcdMember plus etcdctl's STATUS column. */
export interface ListedMember extends EtcdMember {
  /** 'unstarted' = added but never joined (etcdctl: empty name). */
  status: 'started' | 'unstarted';
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

/**
 * The member list a member's peer port serves at `/members` (what a joining member reads): the
 * member's own view, answered without a quorum. Ids are JSON numbers; an unstarted member has no name.
 */
export function parsePeerMembersJson(text: string): ListedMember[] {
  const j = parseJsonText(text, 'peer /members');
  if (!Array.isArray(j)) throw new ParseError('the peer /members answer is not a list');
  return j.map((m: Record<string, unknown>) => {
    const name = typeof m.name === 'string' ? m.name : '';
    return {
      id: jsonId(m.id, 'member id'),
      status: name === '' ? 'unstarted' : 'started',
      name,
      peerURLs: strArr(m.peerURLs),
      clientURLs: strArr(m.clientURLs),
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
// member add / remove / promote

/**
 * `member add` output: `Member 5a… added to cluster 6d…` (ids printed `%16x`: space-padded when
 * shorter than 16 digits), a blank line, then
 * ETCD_NAME / ETCD_INITIAL_CLUSTER / ETCD_INITIAL_ADVERTISE_PEER_URLS / ETCD_INITIAL_CLUSTER_STATE.
 */
export function parseMemberAdd(text: string): MemberAddResult {
  let head: RegExpExecArray | null = null;
  const env: Record<string, string> = {};
  lines(text).forEach((line, i) => {
    if (isNoise(line)) return;
    const m = /^Member\s+([0-9a-fA-F]+) added to cluster\s+([0-9a-fA-F]+)\s*$/.exec(line.trim());
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
  const re = new RegExp(`^Member\\s+([0-9a-fA-F]+) ${verb} cluster\\s+([0-9a-fA-F]+)\\s*$`);
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
