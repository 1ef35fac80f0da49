// The environment and deployment steps shared by the recovery wizard and the maintenance flows:
// taken from the preselection (a tree row, the health panel) when given, chosen automatically when
// there is only one, asked otherwise. No `vscode` import here.
import { CancelledError, type Ui } from '../ui/ui';

export interface DeploymentChoiceModel {
  environments(): Promise<{ name: string; config?: { url?: string } }[]>;
  deployments(envName: string): Promise<{ name: string }[]>;
}

export interface DeploymentChoice {
  envName: string;
  deployment: string;
}

export interface ChooseDeploymentOptions {
  /** Prefix of the prompts' titles, e.g. 'Recover etcd member'. */
  title: string;
  /** Step numbers of the two prompts within the flow, and the flow's step count. */
  steps?: { environment: number; deployment: number; total: number };
}

export async function chooseDeployment(
  ui: Ui,
  model: DeploymentChoiceModel,
  pre: { envName?: string; deployment?: string },
  o: ChooseDeploymentOptions,
): Promise<DeploymentChoice> {
  let envName = pre.envName;
  if (!envName) {
    const envs = (await model.environments()).filter((e) => e.config);
    if (!envs.length)
      throw new Error(
        'No usable BOSH environment: set BOSH_ENVIRONMENT (with BOSH_CLIENT, BOSH_CLIENT_SECRET, BOSH_CA_CERT) or run "BOSH etcd: Add Environment…"',
      );
    envName =
      envs.length === 1
        ? envs[0].name
        : await ui.pick(
            envs.map((e) => ({ label: e.name, description: e.config?.url, value: e.name })),
            {
              id: 'environment',
              title: `${o.title}: environment`,
              step: o.steps?.environment,
              totalSteps: o.steps?.total,
            },
          );
    if (!envName) throw new CancelledError();
  }
  let deployment = pre.deployment;
  if (!deployment) {
    const list = await model.deployments(envName);
    if (!list.length)
      throw new Error(`No deployments on ${envName}: check that the client can see the cluster's deployment`);
    deployment =
      list.length === 1
        ? list[0].name
        : await ui.pick(
            list.map((d) => ({ label: d.name, value: d.name })),
            {
              id: 'deployment',
              title: `${o.title}: deployment on ${envName}`,
              step: o.steps?.deployment,
              totalSteps: o.steps?.total,
            },
          );
    if (!deployment) throw new CancelledError();
  }
  return { envName, deployment };
}
