// The BOSH tree's data and structure: lazy, cached loads per environment / deployment, refresh
// of everything or of one node (the loads in loadCache.ts, the structure in treeStructure.ts).
// Plain TypeScript (no `vscode`): the VS Code adapter (boshTreeProvider.ts), the tests and the
// benchmark all drive this.
import type { DeploymentSummary, DirectorInfo, EnvironmentConfig, InstanceInfo } from '../bosh/types';
import type { DeploymentSession, EnvironmentSession } from '../session/types';
import type { DeploymentNode, EnvironmentEntry, EtcdMembersNode, ItemSpec, TreeModelData, TreeNode } from './nodes';
import { deploymentKey, envKey } from './nodes';
import { DiagnosisMonitor, type DiagnosisMonitorOptions, type MonitorEntry } from '../diagnosis/monitor';
import type { ObserveOptions } from '../diagnosis/observe';

export type { EnvironmentEntry, TreeModelData } from './nodes';
import { LoadCache } from './loadCache';
import { childrenOf, itemOf, rootChildren } from './treeStructure';
import { deploymentEtcdState } from './deploymentNode';

export interface TreeModelOptions {
  /** Lists the environments to show (settings + BOSH_ENVIRONMENT); called on every full refresh. */
  environments: () => Promise<EnvironmentEntry[]>;
  /** Opens a session for an environment (the model caches and disposes it). */
  openSession: (env: EnvironmentConfig) => EnvironmentSession;
  /** Per-load timeout (Director / etcd), default 60 s. */
  timeoutMs?: number;
  log?: (line: string) => void;
  /** How the shared diagnosis monitor observes (tests turn VM probes off). */
  observeOptions?: ObserveOptions;
  /** The observation step (default observeDeployment; unit tests give recorded observations). */
  observe?: DiagnosisMonitorOptions['observe'];
  /** How long the monitor's periodic refreshes may reuse a VM probe (ms; default 60 s). */
  probeMaxAgeMs?: () => number;
}

export type ChangeListener = (node: TreeNode | undefined) => void;

export class BoshTreeModel implements TreeModelData {
  private readonly cache: LoadCache;
  private readonly sessions = new Map<string, EnvironmentSession>();
  private envs?: Promise<EnvironmentEntry[]>;
  private readonly listeners = new Set<ChangeListener>();
  /** Last node object handed out per key (VS Code refreshes an element by identity). */
  private readonly nodesByKey = new Map<string, TreeNode>();
  /** The one diagnosis per deployment every surface renders (tree, status bar, health panel, wizard). */
  readonly monitor: DiagnosisMonitor;
  private readonly monitorSub: { dispose(): void };
  /** Deployments whose etcd section the view shows (listed, expanded): the monitor keeps their diagnosis. */
  private readonly shown = new Map<string, { envName: string; deployment: string }>();
  /** What each deployment row last showed of its etcd state (deploymentEtcdState, as JSON). */
  private readonly deploymentRowState = new Map<string, string>();

  constructor(private readonly opts: TreeModelOptions) {
    this.cache = new LoadCache(opts.timeoutMs ?? 60_000);
    this.monitor = new DiagnosisMonitor({
      session: (envName, deployment) => this.deploymentSession(envName, deployment),
      observeOptions: opts.observeOptions,
      observe: opts.observe,
      probeMaxAgeMs: opts.probeMaxAgeMs,
      retained: (envName, deployment) => this.shown.has(deploymentKey(envName, deployment)),
      log: opts.log,
    });
    // A new diagnosis (a tree refresh, a panel poll): re-render the rows that show it.
    this.monitorSub = this.monitor.onDidChange((e) => this.diagnosisChanged(e));
  }

  private diagnosisChanged(e: MonitorEntry): void {
    const depKey = deploymentKey(e.envName, e.deployment);
    // The deployment row shows the cluster-wide state: redraw it (and so everything under it) only when that changed.
    const state = JSON.stringify(deploymentEtcdState(e));
    const depNode = this.nodesByKey.get(depKey);
    if (depNode && (this.deploymentRowState.get(depKey) ?? JSON.stringify(deploymentEtcdState(undefined))) !== state) {
      this.deploymentRowState.set(depKey, state);
      this.fire(depNode);
      return;
    }
    this.deploymentRowState.set(depKey, state);
    for (const [k, node] of this.nodesByKey)
      if (k === `${depKey}/etcd` || (node.kind === 'instanceGroup' && k.startsWith(`${depKey}/`) && node.etcdGroup))
        this.fire(node);
  }

  onDidChange(cb: ChangeListener): { dispose(): void } {
    this.listeners.add(cb);
    return { dispose: () => this.listeners.delete(cb) };
  }

  private fire(node: TreeNode | undefined): void {
    for (const l of this.listeners) l(node);
  }

  // ---- data ----

  environments(): Promise<EnvironmentEntry[]> {
    this.envs ??= this.opts.environments().then(
      (list) => {
        // An environment that left the settings takes its deployments off the status bar.
        const names = new Set(list.map((e) => e.name));
        this.unshow((x) => !names.has(x.envName));
        return list;
      },
      (e) => {
        this.envs = undefined;
        throw e;
      },
    );
    return this.envs;
  }

  /** Stops showing the deployments `gone` selects, and lets the monitor forget what nothing else holds. */
  private unshow(gone: (x: { envName: string; deployment: string }) => boolean): void {
    for (const [k, x] of [...this.shown]) if (gone(x)) this.shown.delete(k);
    this.monitor.sweep();
  }

  /** The view collapsed a node: the deployments under it are no longer shown (the status bar forgets them unless a panel watches). */
  collapsed(node: TreeNode): void {
    if (node.kind === 'environment') this.unshow((x) => x.envName === node.envName);
    else if (node.kind === 'deployment')
      this.unshow((x) => x.envName === node.envName && x.deployment === node.deployment);
  }

  /** Whether the view shows the deployment's etcd section (tests). */
  isShown(envName: string, deployment: string): boolean {
    return this.shown.has(deploymentKey(envName, deployment));
  }

  async environment(envName: string): Promise<EnvironmentConfig> {
    const entry = (await this.environments()).find((e) => e.name === envName);
    if (!entry) throw new Error(`No BOSH environment named ${envName}: refresh the BOSH view or check the settings`);
    if (!entry.config) throw new Error(`BOSH environment ${envName} is not usable: ${entry.error ?? 'not configured'}`);
    return entry.config;
  }

  async envSession(envName: string): Promise<EnvironmentSession> {
    let s = this.sessions.get(envName);
    if (!s) {
      s = this.opts.openSession(await this.environment(envName));
      this.sessions.set(envName, s);
    }
    return s;
  }

  async deploymentSession(envName: string, deployment: string): Promise<DeploymentSession> {
    return (await this.envSession(envName)).deployment(deployment);
  }

  deployments(envName: string): Promise<DeploymentSummary[]> {
    return this.cache.load(`${envKey(envName)}/deployments`, `listing deployments of ${envName}`, async () => {
      const list = await (await this.envSession(envName)).director.deployments();
      // A deployment deleted on the Director takes itself off the status bar.
      const names = new Set(list.map((d) => d.name));
      this.unshow((x) => x.envName === envName && !names.has(x.deployment));
      return list;
    });
  }

  instances(envName: string, deployment: string): Promise<InstanceInfo[]> {
    return this.cache.load(
      `${deploymentKey(envName, deployment)}/instances`,
      `listing instances of ${deployment}`,
      async () => (await this.deploymentSession(envName, deployment)).instances(),
    );
  }

  /**
   * The deployment's latest diagnosis: observed once per tree refresh (a panel's polls update it in
   * between); with maxAgeMs, observed again when the latest is older (the wizard decides on it).
   */
  async diagnosis(envName: string, deployment: string, opts: { maxAgeMs?: number } = {}): Promise<MonitorEntry> {
    const key = `${deploymentKey(envName, deployment)}/etcd`;
    await this.cache.load(key, `diagnosing etcd of ${deployment}`, async () => {
      // The tree's instance list of this refresh (usually loaded already): the Director is asked once.
      const instances = await this.instances(envName, deployment).catch(() => undefined);
      const entry = await this.monitor.refresh(envName, deployment, { instances });
      if (!entry.diagnosis) throw new Error(entry.error ?? `no diagnosis of ${deployment}`);
      return entry;
    });
    const latest =
      opts.maxAgeMs !== undefined
        ? await this.monitor.refresh(envName, deployment, { maxAgeMs: opts.maxAgeMs })
        : this.monitor.get(envName, deployment);
    if (!latest?.diagnosis) throw new Error(latest?.error ?? `no diagnosis of ${deployment}`);
    return latest;
  }

  cachedInstances(envName: string, deployment: string): InstanceInfo[] | undefined {
    return this.cache.value<InstanceInfo[]>(`${deploymentKey(envName, deployment)}/instances`);
  }

  cachedDiagnosis(envName: string, deployment: string): MonitorEntry | undefined {
    return this.monitor.get(envName, deployment);
  }

  /** The Director's /info (its name labels the environment row). */
  directorInfo(envName: string): Promise<DirectorInfo> {
    return this.cache.load(`${envKey(envName)}/info`, `reading the Director's info of ${envName}`, async () =>
      (await this.envSession(envName)).director.info(),
    );
  }

  directorName(envName: string): string | undefined {
    return this.cache.value<DirectorInfo>(`${envKey(envName)}/info`)?.name || undefined;
  }

  // ---- tree ----

  async getChildren(node?: TreeNode): Promise<TreeNode[]> {
    const kids = await this.children(node);
    // Keep one object per key (updated in place): VS Code refreshes an element by identity.
    return kids.map((k) => {
      const prev = this.nodesByKey.get(k.key);
      if (prev && prev.kind === k.kind) {
        for (const f of Object.keys(prev)) delete (prev as unknown as Record<string, unknown>)[f];
        return Object.assign(prev, k);
      }
      this.nodesByKey.set(k.key, k);
      return k;
    });
  }

  private async children(node?: TreeNode): Promise<TreeNode[]> {
    if (!node) return rootChildren(this);
    const kids = await childrenOf(node, this);
    // Start the diagnosis in the background so the "etcd members" row can show "2/3 healthy".
    if (node.kind === 'deployment')
      for (const k of kids)
        if (k.kind === 'etcdMembers') {
          this.shown.set(deploymentKey(k.envName, k.deployment), { envName: k.envName, deployment: k.deployment });
          this.diagnosis(k.envName, k.deployment).catch(() => undefined);
        }
    return kids;
  }

  getItem(node: TreeNode): ItemSpec {
    return itemOf(node, this);
  }

  /** Drops cached data under a node (or everything) and tells the view to re-read it. */
  refresh(node?: TreeNode): void {
    if (!node || node.kind === 'message') {
      this.cache.clear();
      this.envs = undefined;
      this.fire(undefined);
      return;
    }
    if (node.kind === 'environment') {
      this.cache.dropPrefix(envKey(node.envName));
      this.fire(this.nodesByKey.get(node.key) ?? node);
      return;
    }
    const depKey = deploymentKey(node.envName, node.deployment);
    this.cache.dropPrefix(depKey);
    this.fire(this.nodesByKey.get(depKey) ?? node);
  }

  /** Drops cached data of one deployment (after a recovery, a break, …). */
  refreshDeployment(envName: string, deployment: string): void {
    const depKey = deploymentKey(envName, deployment);
    this.cache.dropPrefix(depKey);
    const node = this.nodesByKey.get(depKey) as DeploymentNode | undefined;
    this.fire(node);
  }

  /** Every etcd-members node the view has shown so far (the status bar watches these). */
  shownEtcdClusters(): EtcdMembersNode[] {
    return [...this.nodesByKey.values()].filter((n): n is EtcdMembersNode => n.kind === 'etcdMembers');
  }

  /** Closes every session (settings changed: they are re-opened with the new options) and refreshes. */
  async reset(): Promise<void> {
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    this.refresh();
    await Promise.allSettled(sessions.map((s) => s.dispose()));
  }

  async dispose(): Promise<void> {
    this.listeners.clear();
    this.monitorSub.dispose();
    this.monitor.dispose();
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.allSettled(sessions.map((s) => s.dispose()));
  }
}
