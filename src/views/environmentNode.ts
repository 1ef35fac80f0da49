// An environment (one BOSH Director): from the settings, or from BOSH_ENVIRONMENT like the bosh CLI.
import type { EnvironmentNode, ItemSpec, TreeNode, TreeModelData } from './nodes';
import { deploymentKey, envKey } from './nodes';
import { errorNode, messageNode } from './messageNode';

export function environmentItem(n: EnvironmentNode, data?: Pick<TreeModelData, 'directorName'>): ItemSpec {
  const env = n.env;
  const directorName = env ? data?.directorName(n.envName) : undefined;
  const lines = [`**${directorName ?? n.envName}**`];
  if (env) {
    if (directorName) lines.push(`Environment: ${n.envName}`);
    lines.push(`Director: ${env.url}`, `From: ${env.source}`);
    if (env.client) lines.push(`Client: ${env.client}`);
    if (env.gateway) lines.push(`Jump host: ${env.gateway.user}@${env.gateway.host}:${env.gateway.port}`);
  }
  if (n.configError) lines.push(`Problem: ${n.configError}`);
  return {
    id: n.key,
    // The Director's own name once /info answered; its URL beside it.
    label: directorName ?? n.envName,
    description: env ? env.url.replace(/^https:\/\//, '') : 'not usable',
    tooltip: lines.join('\n\n'),
    icon: n.configError ? { id: 'warning', color: 'list.warningForeground' } : { id: 'server-environment' },
    contextValue: 'environment',
    collapsible: 'collapsed',
  };
}

export async function environmentChildren(n: EnvironmentNode, data: TreeModelData): Promise<TreeNode[]> {
  if (!n.env)
    return [
      messageNode(
        n.key,
        'error',
        n.configError ?? 'Environment not configured',
        'Check the boshEtcd.environments setting or the BOSH_* environment variables.',
      ),
    ];
  try {
    const deps = await data.deployments(n.envName);
    if (deps.length === 0)
      return [
        messageNode(
          n.key,
          'info',
          "No deployments on this Director (or the client may not see any teams' deployments)",
        ),
      ];
    return deps
      .slice()
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((d) => ({
        kind: 'deployment',
        key: deploymentKey(n.envName, d.name),
        envName: n.envName,
        deployment: d.name,
        summary: d,
      }));
  } catch (e) {
    return [errorNode(envKey(n.envName), e, `listing deployments of ${n.envName}`)];
  }
}
