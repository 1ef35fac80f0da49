// "Recover etcd Member…": the wizard, preselected when run from a member / instance row.
import type { CommandDef } from './container';
import { deploymentRefOf, isTreeNode } from './targets';
import type { WizardPreselect } from '../wizard/wizardTypes';
import { findingButton } from '../diagnosis/actions';

export function preselectOf(arg: unknown): WizardPreselect {
  if (isTreeNode(arg)) {
    switch (arg.kind) {
      case 'member':
        return {
          envName: arg.envName,
          deployment: arg.deployment,
          instanceId: arg.member.instance?.id ?? (arg.member.name || undefined),
        };
      case 'instance':
      case 'process':
        return { envName: arg.envName, deployment: arg.deployment, instanceId: arg.instance.id };
      case 'deployment':
      case 'etcdMembers':
      case 'instanceGroup':
        return { envName: arg.envName, deployment: arg.deployment };
      case 'finding': {
        const b = findingButton(arg.finding);
        return {
          envName: arg.envName,
          deployment: arg.deployment,
          instanceId: b?.kind === 'recover-member' ? b.instanceId : undefined,
        };
      }
      case 'environment':
        return { envName: arg.envName };
      default:
        return {};
    }
  }
  const ref = deploymentRefOf(arg);
  if (ref) {
    const id = (arg as { instanceId?: unknown }).instanceId;
    return { ...ref, instanceId: typeof id === 'string' ? id : undefined };
  }
  return {};
}

export const recoverMemberCommand: CommandDef = {
  id: 'boshEtcd.recoverMember',
  run(c, arg) {
    return c.wizard.start(preselectOf(arg));
  },
};
