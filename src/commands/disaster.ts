// "Restore etcd Quorum…" (the quorum-loss wizard) and "Restore etcd from Snapshot…": on the
// deployment of the tree row they were invoked on (the quorum-lost finding, the etcd members row,
// the deployment), or of an explicit {envName, deployment}, else on the one the operator picks.
import type { CommandDef } from './container';
import { preselectOf } from './recoverMember';

function deploymentOf(arg: unknown): { envName?: string; deployment?: string } {
  const { envName, deployment } = preselectOf(arg);
  return { envName, deployment };
}

export const restoreQuorumCommand: CommandDef = {
  id: 'boshEtcd.restoreQuorum',
  run(c, arg) {
    return c.disaster.restoreQuorum(deploymentOf(arg));
  },
};

export const restoreSnapshotCommand: CommandDef = {
  id: 'boshEtcd.restoreSnapshot',
  run(c, arg) {
    // from the snapshot list: { deployment, snapshot } (the environment is asked when there are several)
    const a = (arg ?? {}) as { snapshot?: unknown; deployment?: unknown };
    const pre = deploymentOf(arg);
    return c.disaster.restoreSnapshot({
      envName: pre.envName,
      deployment: pre.deployment ?? (typeof a.deployment === 'string' ? a.deployment : undefined),
      snapshot: typeof a.snapshot === 'string' ? a.snapshot : undefined,
    });
  },
};
