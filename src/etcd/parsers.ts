// Parsers for etcdctl (API v3) output as the runbook's commands print it on a master VM:
// `member list` (plain, -w table, -w json), `endpoint status` (3.3 seven columns, 3.4 ten columns,
// plain, table, json), `endpoint health`, `member add|remove|promote`, `alarm list`,
// `snapshot status -w table`, and etcdctl's error lines. Ids come back as etcdctl's lower-case hex,
// exact (also from -w json).
// Each parser returns typed values or throws ParseError quoting the offending line. No `vscode`.
// The parsers live in memberParsers.ts and statusParsers.ts (on the text layer etcdctlText.ts); this
// module is their one entry point, and classifies etcdctl's errors.
import { lines } from './etcdctlText';

export { ParseError, parseAsciiTable, parseHumanBytes, parseGoDuration } from './etcdctlText';
export * from './memberParsers';
export * from './statusParsers';

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
