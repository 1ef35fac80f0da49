// bosh-etcd: the headless CLI over the same engine as the VS Code wizard, configured like the bosh
// CLI (BOSH_ENVIRONMENT, BOSH_CLIENT, BOSH_CLIENT_SECRET, BOSH_CA_CERT, BOSH_ALL_PROXY,
// BOSH_DEPLOYMENT). This file dispatches to the commands. No `vscode` import here.
import { parseArgs, usageProblem, type Args } from './args';
import { EXIT, EXIT_CODES_HELP } from './exitCodes';
import type { CliIo } from './io';
import { MAINTENANCE_COMMANDS, MAINTENANCE_USAGE, maintenanceMain } from './maintenance';
import { cmdRecover } from './recover';
import { unknownInstances, withDeployment } from './session';
import { snapshotCommand } from './snapshot';
import { cmdStatus } from './status';
import { RESTORE_USAGE, restoreMain } from './restore';
import { RESTORE_QUORUM_USAGE, restoreQuorumMain } from './restoreQuorum';

export type { CliIo } from './io';

export const USAGE = `usage:
  bosh-etcd status  --deployment D [--json] [--no-probe] [--known-hosts FILE]
  bosh-etcd recover --deployment D (--instance master/UUID [--instance …] | --all-broken)
                    [--dry-run] [--yes] [--learner] [--break-lock]
                    [--transcript-dir DIR] [--download-snapshot DIR] [--known-hosts FILE]
  bosh-etcd snapshot save|list|verify|delete …   (bosh-etcd snapshot --help)
${MAINTENANCE_USAGE}
${RESTORE_USAGE}
${RESTORE_QUORUM_USAGE}

status prints the endpoint table, then the diagnosis: every finding (severity, instance, what was
seen, what to do — split brain, quorum lost, a member down and why, a network path problem, alarms,
a database near its quota, …), what could not be checked, and who holds the cluster lock. --json
prints { deployment, at, summary, findings, unchecked, locks, endpoints } instead. --no-probe skips
the SSH probe of each master (monit, data directory, etcd's log, local health) and the lock.

recover replaces the etcd member of a broken master (the runbook): pre-flight, snapshot, monit stop,
move data aside, member remove, mkdir member/, member add, monit start, verify, post-checks.
--instance may be given several times; --all-broken recovers every member the diagnosis finds broken.
A run holds a cluster-wide lock; when another run holds it, recover refuses naming the holder
(exit 3); a stale lock (no heartbeat) is broken only with --break-lock.
Without a terminal it never changes anything unless --yes is given; in a terminal it asks y/N, and
Ctrl-C or end of input (Ctrl-D) at the question answers no. Ctrl-C during a run stops it before the
next command and cleans up; a second Ctrl-C exits at once (5).
Running it again after a failure or interruption continues where it stopped.

--known-hosts: known_hosts file for the jump host's key (default ~/.ssh/known_hosts, or
BOSH_ETCD_KNOWN_HOSTS). In a terminal an unknown jump-host key is shown with its SHA256
fingerprint and asked about; otherwise it is refused. VM keys are pinned from the Director.

Configured from the bosh CLI environment: BOSH_ENVIRONMENT, BOSH_CLIENT, BOSH_CLIENT_SECRET,
BOSH_CA_CERT, BOSH_ALL_PROXY (ssh+socks5://user@jumphost:22?private-key=…), BOSH_DEPLOYMENT.

${EXIT_CODES_HELP}`;

function usageError(io: CliIo, problem: string): number {
  io.err.write(`bosh-etcd: ${problem}\n${USAGE}\n`);
  return EXIT.USAGE;
}

/** status and recover: on the deployment (withDeployment); recover's instances must be the Director's. */
function runCommand(a: Args, io: CliIo): Promise<number> {
  return withDeployment(
    io,
    a.deployment,
    // recover: the default (stops before the next command).
    { knownHosts: a.knownHosts, onInterrupt: a.cmd === 'recover' ? undefined : 'stopping', what: `running ${a.cmd}` },
    async ({ session, instances, signal, deployment }) => {
      if (a.cmd === 'status') return await cmdStatus(a, io, session);
      if (unknownInstances(io, deployment, a.instances, instances).length) return EXIT.CONFIG;
      return await cmdRecover(a, io, session, signal);
    },
  );
}

/** Runs `bosh-etcd <argv…>`; returns the exit code (src/cli/exitCodes.ts). */
export async function main(argv: string[], io: CliIo): Promise<number> {
  if (argv[0] === 'snapshot') return snapshotCommand(argv.slice(1), io);
  if (MAINTENANCE_COMMANDS.includes(argv[0])) return maintenanceMain(argv, io);
  if (argv[0] === 'restore') return restoreMain(argv.slice(1), io);
  if (argv[0] === 'restore-quorum') return restoreQuorumMain(argv.slice(1), io);
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
  const problem = usageProblem(a);
  if (problem) return usageError(io, problem);
  return runCommand(a, io);
}
