// Open the etcd health panel of a deployment (from the tree, the status bar, or the palette).
import type { CommandDef } from './container';
import { resolveDeployment } from './targets';

export const openHealthPanelCommand: CommandDef = {
  id: 'boshEtcd.openHealthPanel',
  async run(c, arg) {
    const ref = await resolveDeployment(c, arg);
    return c.panels.open(ref.envName, ref.deployment);
  },
};
