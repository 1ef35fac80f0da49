// Opening the deployment for a `bosh-etcd` command from the bosh CLI's environment variables, and
// the checks every command makes before anything runs: the deployment is named and the Director
// knows it (a 404 is a configuration error, exit 6, not a failed step). withDeployment is the frame
// of every command that works on a deployment: Ctrl-C, the session opened and closed, exit codes.
// No `vscode` import here.
import type { InstanceInfo } from '../bosh/types';
import { openDeploymentFromEnv } from '../session/session';
import type { DeploymentSession } from '../session/types';
import { explainForOperator } from '../util/errors';
import { EXIT } from './exitCodes';
import { handleInterrupts, questioner, type CliIo } from './io';

/** The instances as the Director's fast list gives them (no agent calls). */
export type KnownInstance = Pick<InstanceInfo, 'group' | 'id' | 'index' | 'ips'>;

export interface OpenedDeployment {
  session: DeploymentSession;
  instances: KnownInstance[];
}

/** --deployment, else BOSH_DEPLOYMENT; undefined after writing the usage problem. */
export function deploymentName(given: string | undefined, io: CliIo): string | undefined {
  const name = given ?? io.env.BOSH_DEPLOYMENT;
  if (!name)
    io.err.write('bosh-etcd: --deployment is required (or set BOSH_DEPLOYMENT), e.g. service-instance_<uuid>\n');
  return name;
}

/**
 * Opens the deployment and asks the Director for its instances (the fast list). Returns the exit code
 * (EXIT.CONFIG, after saying what to do) when the environment is incomplete, the Director cannot be
 * reached or refuses the credentials, or does not know the deployment.
 */
export async function openDeployment(
  io: CliIo,
  deployment: string,
  opts: { knownHosts?: string; signal?: AbortSignal } = {},
): Promise<OpenedDeployment | number> {
  let session: DeploymentSession;
  try {
    const ask = questioner(io, opts.signal);
    session = io.open
      ? io.open(deployment)
      : openDeploymentFromEnv(io.env, {
          deployment,
          hostKeyPrompt: ask
            ? (host, keyType, fp) =>
                ask(`The host key of ${host} is unknown: ${keyType} ${fp}. Trust it for this run? [y/N] `)
            : undefined,
          gatewayKnownHostsPath: opts.knownHosts ?? io.env.BOSH_ETCD_KNOWN_HOSTS,
          onNote: (note) => io.err.write(`bosh-etcd: note: ${note}\n`),
        });
  } catch (e) {
    io.err.write(`bosh-etcd: ${explainForOperator(e, 'reading the bosh environment')}\n`);
    return EXIT.CONFIG;
  }
  try {
    const instances = await session.director.instancesFast(deployment);
    return { session, instances };
  } catch (e) {
    await session.dispose().catch(() => undefined);
    io.err.write(`bosh-etcd: ${explainForOperator(e, `asking the Director for deployment ${deployment}`)}\n`);
    return EXIT.CONFIG;
  }
}

export interface DeploymentRun extends OpenedDeployment {
  /** The deployment's name (--deployment, else BOSH_DEPLOYMENT). */
  deployment: string;
  /** Aborted by the first Ctrl-C / SIGTERM (the command stops before its next step and cleans up). */
  signal: AbortSignal;
}

/**
 * Runs a command on a deployment: the name checked (`given`, else BOSH_DEPLOYMENT; EXIT.USAGE without
 * one), Ctrl-C and SIGTERM handled for the whole command (handleInterrupts; `onInterrupt` says what
 * happens, by default the run stops before its next command), the deployment opened (EXIT.CONFIG
 * after saying what to do when it cannot be), the session closed at the end whatever happens. An
 * error the command does not handle itself is explained (what failed while `what`, what to do) and
 * ends in EXIT.CANCELLED after an interrupt, EXIT.CONFIG otherwise.
 */
export async function withDeployment(
  io: CliIo,
  given: string | undefined,
  opts: { knownHosts?: string; onInterrupt?: string; what: string },
  run: (d: DeploymentRun) => Promise<number>,
): Promise<number> {
  const deployment = deploymentName(given, io);
  if (!deployment) return EXIT.USAGE;
  const interrupts = handleInterrupts(
    io,
    opts.onInterrupt ?? 'stopping before the next command (nothing further will change)',
  );
  try {
    const opened = await openDeployment(io, deployment, { knownHosts: opts.knownHosts, signal: interrupts.signal });
    if (typeof opened === 'number') return opened;
    try {
      return await run({ ...opened, deployment, signal: interrupts.signal });
    } catch (e) {
      io.err.write(`bosh-etcd: ${explainForOperator(e, opts.what)}\n`);
      return interrupts.signal.aborted ? EXIT.CANCELLED : EXIT.CONFIG;
    } finally {
      await opened.session.dispose().catch(() => undefined);
    }
  } finally {
    interrupts.dispose();
  }
}

export const labelOf = (i: Pick<InstanceInfo, 'group' | 'id'>) => `${i.group}/${i.id}`;

/**
 * The instances given that the Director does not list (exact `group/uuid`). Writes what to do when
 * some are unknown.
 */
export function unknownInstances(io: CliIo, deployment: string, given: string[], known: KnownInstance[]): string[] {
  const labels = new Set(known.map(labelOf));
  const unknown = given.filter((g) => !labels.has(g));
  if (unknown.length) {
    const masters = known.filter((i) => i.group === 'master').map(labelOf);
    io.err.write(
      `bosh-etcd: deployment ${deployment} has no instance ${unknown.join(', ')}. ` +
        `Give it as group/uuid${masters.length ? `, one of: ${masters.join(', ')}` : ''} (bosh -d ${deployment} instances shows them).\n`,
    );
  }
  return unknown;
}
