// The columns of `etcdctl endpoint status -w table` (etcd 3.4 and 3.5), in etcdctl's order: the CLI's
// `status` table and the health panel show the same headings an operator knows from etcdctl.
export const ENDPOINT_STATUS_COLUMNS = [
  'ENDPOINT',
  'ID',
  'VERSION',
  'DB SIZE',
  'IS LEADER',
  'IS LEARNER',
  'RAFT TERM',
  'RAFT INDEX',
  'RAFT APPLIED INDEX',
  'ERRORS',
] as const;
