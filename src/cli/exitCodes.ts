// The exit codes of every `bosh-etcd` command: one table, documented in `--help` and README.md's CLI
// section. status's 7/8 are the diagnosis's own (src/diagnosis EXIT_CODES), so the CLI and every
// other surface agree on what "warning" and "critical" mean.
import { EXIT_CODES } from '../diagnosis';

export const EXIT = {
  OK: 0,
  /** A step failed (run the command again to resume), or a snapshot failed verification. */
  FAILED: 1,
  /** Bad usage. */
  USAGE: 2,
  /** Refused by pre-flight, or the cluster lock is held by another run: nothing changed. */
  REFUSED: 3,
  /** Not confirmed (no --yes without a terminal, answered no, Ctrl-C or end of input at the question). */
  DECLINED: 4,
  /** Cancelled (SIGINT/SIGTERM): nothing further changed. */
  CANCELLED: 5,
  /** Configuration or connection problem before anything ran (also: unknown deployment or instance). */
  CONFIG: 6,
  /** status: the worst finding is a warning. */
  WARNING: EXIT_CODES.warning,
  /** status: the worst finding is critical (e.g. split brain, quorum lost, a member down). */
  CRITICAL: EXIT_CODES.critical,
  /** recover-nospace: the data needs more than the quota (raise quota-backend-bytes). */
  QUOTA_TOO_SMALL: 8,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The table printed by `bosh-etcd --help` (README.md's CLI section has the same). */
export const EXIT_CODES_HELP = `exit codes (every command):
  0  ok (recovered, dry-run, done, healthy)
  1  a step failed: run the same command again to resume (snapshot: a file failed verification)
  2  usage
  3  refused by pre-flight or the cluster lock is held by another run: nothing changed
  4  not confirmed (no --yes without a terminal, answered no, Ctrl-C or end of input at the question):
     nothing changed
  5  cancelled by Ctrl-C/SIGTERM: the run stopped before the next command (a second Ctrl-C exits at once)
  6  configuration or connection error, unknown deployment (Director 404) or unknown instance
  7  status: the worst finding is a warning
  8  status: the worst finding is critical (split brain, quorum lost, a member down, …);
     recover-nospace: the data needs more than the quota`;
