// bosh-etcd: the headless CLI over the same engine as the VS Code wizard. Configured like the bosh
// CLI (BOSH_ENVIRONMENT, BOSH_CLIENT, BOSH_CLIENT_SECRET, BOSH_CA_CERT, BOSH_ALL_PROXY, BOSH_DEPLOYMENT).
// No `vscode` import here.
import * as os from 'os';
import * as path from 'path';
import * as readline from 'readline';
import { openDeploymentFromEnv } from './session/session';
import type { DeploymentSession } from './session/types';
import type { EndpointResult, EndpointStatus } from './etcd/types';
import { runRecovery, formatPlan, type Plan, type RecoveryEvent, type RecoveryResult } from './recovery';
import { snapshotCommand } from './cli/snapshot';
import { MAINTENANCE_COMMANDS, MAINTENANCE_USAGE, maintenanceMain } from './cli/maintenance';

export const EXIT = {
  OK: 0,
  /** A step failed (the run can be resumed by running it again). */
  FAILED: 1,
  /** Bad usage. */
  USAGE: 2,
  /** Refused by pre-flight: nothing changed. */
  REFUSED: 3,
  /** Not confirmed (no --yes in non-interactive mode, or answered no): nothing changed. */
  DECLINED: 4,
  /** Cancelled (SIGINT/SIGTERM): nothing further changed. */
  CANCELLED: 5,
  /** Configuration / connection problem before anything ran. */
  CONFIG: 6,
  /** status: some endpoint is unhealthy. */
  UNHEALTHY: 7,
} as const;

const USAGE = `usage:
  bosh-etcd recover --deployment D --instance master/UUID [--dry-run] [--yes] [--learner]
                    [--transcript-dir DIR] [--download-snapshot DIR] [--known-hosts FILE]
  bosh-etcd status  --deployment D [--known-hosts FILE]
  bosh-etcd snapshot save|list|verify|delete …   (bosh-etcd snapshot --help)
${MAINTENANCE_USAGE}

--known-hosts: known_hosts file for the jump host's key (default ~/.ssh/known_hosts, or
BOSH_ETCD_KNOWN_HOSTS). In a terminal an unknown jump-host key is shown with its SHA256
fingerprint and asked about; otherwise it is refused. VM keys are pinned from the Director.

Configured from the bosh CLI environment: BOSH_ENVIRONMENT, BOSH_CLIENT, BOSH_CLIENT_SECRET,
BOSH_CA_CERT, BOSH_ALL_PROXY (ssh+socks5://user@jumphost:22?private-key=…), BOSH_DEPLOYMENT.

recover replaces the etcd member of a broken master (the runbook): pre-flight, snapshot, monit stop,
move data aside, member remove, mkdir member/, member add, monit start, verify, post-checks.
Without a terminal it never changes anything unless --yes is given; in a terminal it asks y/N.
Running it again after a failure or interruption continues where it stopped.

exit codes: 0 ok (recovered / dry-run / all healthy), 1 a step failed (run again to resume),
  2 usage, 3 refused by pre-flight (nothing changed), 4 not confirmed (nothing changed),
  5 cancelled (nothing further changed), 6 configuration/connection error, 7 status: unhealthy endpoint`;

interface Args {
  cmd: string;
  deployment?: string;
  instance?: string;
  dryRun: boolean;
  yes: boolean;
  learner: boolean;
  transcriptDir?: string;
  downloadSnapshot?: string;
  knownHosts?: string;
  help: boolean;
}

class UsageError extends Error {}

export function parseArgs(argv: string[]): Args {
  const a: Args = { cmd: '', dryRun: false, yes: false, learner: false, help: false };
  const rest = [...argv];
  const value = (name: string) => {
    const v = rest.shift();
    if (v === undefined || v.startsWith('--')) throw new UsageError(`${name} needs a value`);
    return v;
  };
  while (rest.length) {
    const x = rest.shift()!;
    const eq = x.indexOf('=');
    if (x.startsWith('--') && eq > 0) {
      rest.unshift(x.slice(eq + 1));
      rest.unshift(x.slice(0, eq));
      continue;
    }
    switch (x) {
      case '--deployment':
      case '-d':
        a.deployment = value(x);
        break;
      case '--instance':
      case '-i':
        a.instance = value(x);
        break;
      case '--dry-run':
        a.dryRun = true;
        break;
      case '--yes':
      case '-y':
        a.yes = true;
        break;
      case '--learner':
        a.learner = true;
        break;
      case '--transcript-dir':
        a.transcriptDir = value(x);
        break;
      case '--download-snapshot':
        a.downloadSnapshot = value(x);
        break;
      case '--known-hosts':
        a.knownHosts = value(x);
        break;
      case '--help':
      case '-h':
        a.help = true;
        break;
      default:
        if (x.startsWith('-')) throw new UsageError(`unknown option ${x}`);
        if (a.cmd) throw new UsageError(`unexpected argument ${x}`);
        a.cmd = x;
    }
  }
  return a;
}

function defaultTranscriptDir(): string {
  return path.join(os.homedir(), '.bosh-etcd', 'transcripts');
}

/** Prints events as a terminal transcript. */
function printer(out: NodeJS.WritableStream, err: NodeJS.WritableStream): (e: RecoveryEvent) => void {
  let atLineStart = true;
  const line = (s: string) => {
    if (!atLineStart) out.write('\n');
    out.write(s + '\n');
    atLineStart = true;
  };
  return (e) => {
    switch (e.type) {
      case 'observed':
        for (const s of e.summary) line(`  ${s}`);
        break;
      case 'plan':
        break;
      case 'refused':
        for (const r of e.refusals) err.write(`REFUSED (${r.code}): ${r.message}\n  what to do: ${r.advice}\n`);
        break;
      case 'step-start':
        line(`\n== Step ${e.number}/${e.total}: ${e.title}${e.alreadyDone ? ' (already done)' : ''}`);
        break;
      case 'command':
        line(e.skipped ? `[${e.host}] (skipped: ${e.skipped}) $ ${e.command}` : `[${e.host}] $ ${e.command}`);
        break;
      case 'output':
        out.write(e.text);
        atLineStart = e.text.endsWith('\n');
        break;
      case 'command-done':
        if (e.exitCode !== 0) line(`  (exit ${e.exitCode ?? 'none'}${e.signal ? `, signal ${e.signal}` : ''})`);
        break;
      case 'check':
        line(`  ${e.ok ? 'ok  ' : 'FAIL'} ${e.name}: ${e.detail}`);
        break;
      case 'info':
        line(`  ${e.message}`);
        break;
      case 'step-done':
        line(`-- step ${e.number} ${e.skipped ? 'already done' : 'done'}`);
        break;
      case 'step-failed':
        err.write(`\nStep ${e.number} FAILED: ${e.error}\n  what to do: ${e.advice}\n`);
        break;
      case 'cancelled':
        line(`Cancelled: ${e.message}`);
        break;
      case 'done':
        break;
    }
  };
}

async function askYesNo(question: string): Promise<boolean> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await new Promise<string>((resolve) => rl.question(question, resolve));
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

export function exitCodeOf(r: RecoveryResult): number {
  switch (r.outcome) {
    case 'recovered':
    case 'dry-run':
      return EXIT.OK;
    case 'refused':
      return EXIT.REFUSED;
    case 'declined':
      return EXIT.DECLINED;
    case 'cancelled':
      return EXIT.CANCELLED;
    default:
      return EXIT.FAILED;
  }
}

export interface CliIo {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  /** stdin and stdout are a terminal: ask y/N. */
  interactive: boolean;
  /** Opens the deployment (tests inject one). */
  open?: (deployment: string) => DeploymentSession;
}

async function cmdRecover(a: Args, io: CliIo, session: DeploymentSession, signal: AbortSignal): Promise<number> {
  const transcriptDir = a.transcriptDir ?? defaultTranscriptDir();
  io.out.write(`Observing ${a.instance} in ${session.deployment}…\n`);
  const confirm = async (plan: Plan): Promise<boolean> => {
    io.out.write('\n' + formatPlan(plan) + '\n\n');
    if (a.yes) {
      io.out.write('--yes given: proceeding.\n');
      return true;
    }
    if (!io.interactive) {
      io.err.write(
        'Not a terminal and no --yes: not changing anything. Re-run with --yes to replace the member, or --dry-run to only see the plan.\n',
      );
      return false;
    }
    return askYesNo(
      `This removes etcd member ${plan.staleMemberId ?? '(already removed)'} of ${plan.target} from the cluster and re-adds it with empty data. Proceed? [y/N] `,
    );
  };
  const res = await runRecovery(session, a.instance!, {
    dryRun: a.dryRun,
    learner: a.learner,
    signal,
    transcriptDir,
    downloadSnapshotTo: a.downloadSnapshot,
    confirm,
    onEvent: printer(io.out, io.err),
  });
  if (res.outcome === 'dry-run' && res.plan)
    io.out.write('\n' + formatPlan(res.plan) + '\n\nDry-run: nothing was changed.\n');
  const stream = res.outcome === 'recovered' || res.outcome === 'dry-run' ? io.out : io.err;
  const summary =
    res.outcome === 'dry-run'
      ? 'nothing was changed'
      : res.outcome === 'refused'
        ? 'nothing was changed (the reasons and what to do are above)'
        : res.message;
  stream.write(`\n${res.outcome.toUpperCase()}: ${summary}\n`);
  if (res.advice && res.outcome !== 'refused') stream.write(`what to do: ${res.advice}\n`);
  io.out.write(`transcript: ${res.transcriptPath}\n`);
  return exitCodeOf(res);
}

function fmtSize(n: number): string {
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  if (n >= 1024) return `${(n / 1024).toFixed(0)} kB`;
  return `${n} B`;
}

/** `etcdctl endpoint status -w table` look-alike (unreachable endpoints shown with their error). */
export function statusTable(rows: EndpointResult<EndpointStatus>[]): string {
  const head = [
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
  ];
  const body = rows.map((r) =>
    r.ok
      ? [
          r.endpoint,
          r.value.memberId,
          r.value.version,
          fmtSize(r.value.dbSize),
          String(r.value.leader === r.value.memberId),
          String(!!r.value.isLearner),
          r.value.raftTerm,
          r.value.raftIndex,
          r.value.raftAppliedIndex ?? '',
          r.value.errors.join('; '),
        ]
      : [r.endpoint, '', '', '', '', '', '', '', '', `UNREACHABLE: ${r.error}`],
  );
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const sep = '+' + w.map((n) => '-'.repeat(n + 2)).join('+') + '+';
  const fmt = (cells: string[]) => '|' + cells.map((c, i) => ` ${c.padEnd(w[i])} `).join('|') + '|';
  return [sep, fmt(head), sep, ...body.map(fmt), sep].join('\n');
}

async function cmdStatus(io: CliIo, session: DeploymentSession): Promise<number> {
  const cluster = await session.etcd();
  const [st, health] = await Promise.all([cluster.status(), cluster.health()]);
  io.out.write(statusTable(st) + '\n');
  const bad = health.filter((h) => !h.ok || !h.value.healthy);
  for (const h of health)
    io.out.write(
      `${h.endpoint} is ${h.ok && h.value.healthy ? 'healthy' : `UNHEALTHY: ${h.ok ? (h.value.error ?? 'unhealthy') : h.error}`}\n`,
    );
  return bad.length ? EXIT.UNHEALTHY : EXIT.OK;
}

function usageError(io: CliIo, problem: string): number {
  io.err.write(`bosh-etcd: ${problem}\n${USAGE}\n`);
  return EXIT.USAGE;
}

export async function main(argv: string[], io: CliIo): Promise<number> {
  if (argv[0] === 'snapshot') return snapshotCommand(argv.slice(1), io, EXIT);
  if (MAINTENANCE_COMMANDS.includes(argv[0])) return maintenanceMain(argv, io);
  let a: Args;
  try {
    a = parseArgs(argv);
  } catch (e) {
    return usageError(io, (e as Error).message);
  }
  if (a.help) {
    io.out.write(USAGE + '\n');
    return EXIT.OK;
  }
  if (a.cmd !== 'recover' && a.cmd !== 'status')
    return usageError(io, a.cmd ? `unknown command ${a.cmd}` : 'no command');
  const deployment = a.deployment ?? io.env.BOSH_DEPLOYMENT;
  if (!deployment) {
    io.err.write('bosh-etcd: --deployment is required (or set BOSH_DEPLOYMENT), e.g. service-instance_<uuid>\n');
    return EXIT.USAGE;
  }
  if (a.cmd === 'recover' && !a.instance) {
    io.err.write('bosh-etcd: --instance master/UUID is required (bosh -d <deployment> instances shows them)\n');
    return EXIT.USAGE;
  }
  let session: DeploymentSession;
  try {
    const hostKeyPrompt = io.interactive
      ? (host: string, keyType: string, fp: string) =>
          askYesNo(`The host key of ${host} is unknown: ${keyType} ${fp}. Trust it for this run? [y/N] `)
      : undefined;
    session = io.open
      ? io.open(deployment)
      : openDeploymentFromEnv(io.env, {
          deployment,
          hostKeyPrompt,
          onNote: (note) => io.err.write(`bosh-etcd: note: ${note}\n`),
          gatewayKnownHostsPath: a.knownHosts ?? io.env.BOSH_ETCD_KNOWN_HOSTS,
        });
  } catch (e) {
    io.err.write(`bosh-etcd: ${(e as Error).message}\n`);
    return EXIT.CONFIG;
  }
  const ac = new AbortController();
  const onSignal = () => {
    io.err.write('\nInterrupted: stopping before the next command (nothing further will change)…\n');
    ac.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return a.cmd === 'recover' ? await cmdRecover(a, io, session, ac.signal) : await cmdStatus(io, session);
  } catch (e) {
    io.err.write(`bosh-etcd: ${(e as Error).message}\n`);
    return EXIT.CONFIG;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await session.dispose().catch(() => undefined);
  }
}

if (require.main === module) {
  main(process.argv.slice(2), {
    out: process.stdout,
    err: process.stderr,
    env: process.env,
    interactive: !!process.stdin.isTTY && !!process.stdout.isTTY,
  }).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`bosh-etcd: ${(e as Error).stack ?? e}\n`);
      process.exit(EXIT.FAILED);
    },
  );
}
