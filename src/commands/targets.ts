// Resolves what a command acts on: the tree node it was invoked on, an explicit
// {envName, deployment} (status bar, tests), or — from the palette — the operator's choice.
import type { InstanceInfo } from '../bosh/types';
import { instanceName } from '../bosh/types';
import type { TreeNode } from '../views/nodes';
import type { Container } from './container';
import { CancelledError } from '../ui/ui';

export interface DeploymentRef {
  envName: string;
  deployment: string;
}

function isObj(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null;
}

export function isTreeNode(x: unknown): x is TreeNode {
  return isObj(x) && typeof x.kind === 'string' && typeof x.key === 'string';
}

export function deploymentRefOf(arg: unknown): DeploymentRef | undefined {
  if (isObj(arg) && typeof arg.envName === 'string' && typeof arg.deployment === 'string')
    return { envName: arg.envName, deployment: arg.deployment };
  return undefined;
}

export async function pickEnvironment(c: Container, step?: number, total?: number): Promise<string> {
  const envs = (await c.model.environments()).filter((e) => e.config);
  if (envs.length === 0)
    throw new Error(
      'No usable BOSH environment: set BOSH_ENVIRONMENT (with BOSH_CLIENT, BOSH_CLIENT_SECRET, BOSH_CA_CERT) or run "BOSH etcd: Add Environment…"',
    );
  if (envs.length === 1) return envs[0].name;
  const name = await c.ui.pick(
    envs.map((e) => ({ label: e.name, description: e.config?.url, detail: `from ${e.config?.source}`, value: e.name })),
    { id: 'environment', title: 'BOSH environment', step, totalSteps: total },
  );
  if (!name) throw new CancelledError();
  return name;
}

export async function pickDeployment(c: Container, envName: string, step?: number, total?: number): Promise<string> {
  const deps = await c.model.deployments(envName);
  if (deps.length === 0)
    throw new Error(`No deployments on ${envName}: check that the client can see the cluster's deployment`);
  const items = deps.map((d) => ({
    label: d.name,
    description: d.releases
      .map((r) => r.name)
      .slice(0, 4)
      .join(', '),
    value: d.name,
  }));
  const dep = await c.ui.pick(items, { id: 'deployment', title: `Deployment on ${envName}`, step, totalSteps: total });
  if (!dep) throw new CancelledError();
  return dep;
}

/** The deployment a command acts on (node, explicit ref, or asked). */
export async function resolveDeployment(c: Container, arg: unknown): Promise<DeploymentRef> {
  if (isTreeNode(arg) && 'deployment' in arg) return { envName: arg.envName, deployment: arg.deployment };
  const ref = deploymentRefOf(arg);
  if (ref) return ref;
  const envName = await pickEnvironment(c);
  return { envName, deployment: await pickDeployment(c, envName) };
}

/** The instance of an instance / member / process node. */
export function instanceOfNode(arg: unknown): { ref: DeploymentRef; instance: InstanceInfo } | undefined {
  if (!isTreeNode(arg)) return undefined;
  switch (arg.kind) {
    case 'instance':
    case 'process':
      return { ref: { envName: arg.envName, deployment: arg.deployment }, instance: arg.instance };
    case 'member':
      return arg.member.instance
        ? { ref: { envName: arg.envName, deployment: arg.deployment }, instance: arg.member.instance }
        : undefined;
    default:
      return undefined;
  }
}

/** Asks for an instance of a deployment (palette use). */
export async function pickInstance(c: Container, ref: DeploymentRef): Promise<InstanceInfo> {
  const list = await c.model.instances(ref.envName, ref.deployment);
  const i = await c.ui.pick(
    list.map((x) => ({
      label: instanceName(x),
      description: `${x.processState ?? 'no VM'} · ${x.az ?? ''} · ${x.ips.join(', ')}`,
      value: x,
    })),
    { id: 'instance', title: `Instance of ${ref.deployment}` },
  );
  if (!i) throw new CancelledError();
  return i;
}
