// "Defragment etcd (rolling)…", "Recover from NOSPACE…", "Take etcd Snapshot", "Show etcd
// Snapshots…": the maintenance flows and the snapshots, on the deployment of the tree row they were
// invoked on (or of an explicit {envName, deployment}), else on the one the operator picks.
import type { CommandDef } from './container';
import { preselectOf } from './recoverMember';
import type { MaintenancePreselect } from '../wizard/maintenanceFlow';

function deploymentOf(arg: unknown): MaintenancePreselect {
  const { envName, deployment } = preselectOf(arg);
  return { envName, deployment };
}

export const defragEtcdCommand: CommandDef = {
  id: 'boshEtcd.defragEtcd',
  run(c, arg) {
    return c.maintenance.run('defrag', deploymentOf(arg));
  },
};

export const recoverNospaceCommand: CommandDef = {
  id: 'boshEtcd.recoverNospace',
  run(c, arg) {
    return c.maintenance.run('nospace', deploymentOf(arg));
  },
};

export const takeSnapshotCommand: CommandDef = {
  id: 'boshEtcd.takeSnapshot',
  run(c, arg) {
    return c.maintenance.takeSnapshot(deploymentOf(arg));
  },
};

export const showSnapshotsCommand: CommandDef = {
  id: 'boshEtcd.showSnapshots',
  run(c, arg) {
    return c.maintenance.showSnapshots({ deployment: deploymentOf(arg).deployment });
  },
};
