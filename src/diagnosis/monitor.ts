// The one source every VS Code surface reads the diagnosis from: the latest Diagnosis per
// (environment, deployment), refreshed on demand and on an interval while something watches it
// (an open health panel at its poll interval, the tree at its refresh interval), with concurrent
// refreshes of one deployment coalesced into one observation. Listeners hear every new result.
// VM probes are reused between the interval's refreshes (probeCache.ts: while young and the master's
// endpoint picture is unchanged), so a poll costs the etcd reads; a refresh on demand probes again.
// Plain Node, no `vscode`.
import type { InstanceInfo } from '../bosh/types';
import type { DeploymentSession } from '../session/types';
import {
  DEFAULT_QUORUM_READ_MAX_AGE_MS,
  observeDeployment,
  type ClusterObservation,
  type ObserveOptions,
} from './observe';
import { diagnose } from './summary';
import { membersOf, type MemberView } from './membership';
import { ProbeCache } from './probeCache';
import type { Diagnosis } from './types';

export interface MonitorEntry {
  envName: string;
  deployment: string;
  /** Latest diagnosis (kept while a later refresh fails to open the session). */
  diagnosis?: Diagnosis;
  /** The observation it was made from (for the facts the surfaces show: sizes, ids, URLs). */
  observation?: ClusterObservation;
  /** Members mapped to instances, from the same observation. */
  members: MemberView[];
  /** The last refresh could not observe at all (the session did not open): why, in words. */
  error?: string;
  /** When the last refresh settled (ms since epoch); 0 before the first. */
  at: number;
  /** A refresh is in flight. */
  refreshing: boolean;
}

export interface DiagnosisMonitorOptions {
  session(envName: string, deployment: string): Promise<DeploymentSession>;
  /** How to observe (default: observeDeployment; VM probes on). */
  observe?: (session: DeploymentSession, opts: ObserveOptions) => Promise<ClusterObservation>;
  observeOptions?: ObserveOptions;
  /**
   * Whether something other than a watcher still shows the deployment (the tree, with its etcd
   * section expanded). A deployment that nothing shows nor watches is forgotten (sweep()).
   */
  retained?: (envName: string, deployment: string) => boolean;
  /** How long an interval refresh may reuse a VM probe, in ms (read at each refresh; default 60 s, 0: never). */
  probeMaxAgeMs?: () => number;
  log?: (line: string) => void;
}

/** Default of DiagnosisMonitorOptions.probeMaxAgeMs (the setting boshEtcd.diagnosis.probeCacheSeconds). */
export const DEFAULT_PROBE_MAX_AGE_MS = 60_000;

export interface RefreshOptions {
  /** A result at most this old is returned as is. */
  maxAgeMs?: number;
  /** The caller's fresh instance list (the tree's, just loaded): the Director is not asked again. */
  instances?: InstanceInfo[];
  /** 'fresh' (default: a refresh on demand) probes every VM; 'reuse' (the interval's polls) reuses young probes. */
  probes?: 'fresh' | 'reuse';
}

export type MonitorListener = (entry: MonitorEntry) => void;

interface Slot {
  entry: MonitorEntry;
  inFlight?: Promise<MonitorEntry>;
  /** The refresh in flight probes every VM. */
  inFlightFresh?: boolean;
  probes: ProbeCache;
  watchers: Map<number, number>;
  timer?: NodeJS.Timeout;
  timerMs?: number;
}

const keyOf = (envName: string, deployment: string) => `${envName}\u0000${deployment}`;

export class DiagnosisMonitor {
  private readonly slots = new Map<string, Slot>();
  private readonly listeners = new Set<MonitorListener>();
  private readonly forgetListeners = new Set<MonitorListener>();
  private nextWatcher = 1;
  private disposed = false;

  constructor(private readonly opts: DiagnosisMonitorOptions) {}

  onDidChange(cb: MonitorListener): { dispose(): void } {
    this.listeners.add(cb);
    return { dispose: () => this.listeners.delete(cb) };
  }

  /** A deployment's result was dropped (nothing shows it any more): the status bar stops counting it. */
  onDidForget(cb: MonitorListener): { dispose(): void } {
    this.forgetListeners.add(cb);
    return { dispose: () => this.forgetListeners.delete(cb) };
  }

  get(envName: string, deployment: string): MonitorEntry | undefined {
    return this.slots.get(keyOf(envName, deployment))?.entry;
  }

  /** Every deployment diagnosed so far (what the status bar summarises). */
  entries(): MonitorEntry[] {
    return [...this.slots.values()].map((s) => s.entry);
  }

  private slot(envName: string, deployment: string): Slot {
    const k = keyOf(envName, deployment);
    let s = this.slots.get(k);
    if (!s) {
      const maxAge = this.opts.probeMaxAgeMs;
      s = {
        entry: { envName, deployment, members: [], at: 0, refreshing: false },
        watchers: new Map(),
        probes: new ProbeCache(() => Math.max(0, maxAge ? maxAge() : DEFAULT_PROBE_MAX_AGE_MS)),
      };
      this.slots.set(k, s);
    }
    return s;
  }

  /**
   * Observes and classifies the deployment once; a call while one is in flight shares it (a fresh
   * one waits for a reusing one in flight, then observes). With maxAgeMs, a result at most that old
   * is returned as is. Never rejects: a failure is in `error`.
   */
  refresh(envName: string, deployment: string, opts: RefreshOptions = {}): Promise<MonitorEntry> {
    const s = this.slot(envName, deployment);
    const fresh = (opts.probes ?? 'fresh') === 'fresh';
    if (s.inFlight) {
      if (!fresh || s.inFlightFresh) return s.inFlight;
      return s.inFlight.then(() => this.refresh(envName, deployment, opts));
    }
    if (opts.maxAgeMs !== undefined && s.entry.diagnosis && Date.now() - s.entry.at <= opts.maxAgeMs)
      return Promise.resolve(s.entry);
    s.entry = { ...s.entry, refreshing: true };
    s.inFlightFresh = fresh;
    s.inFlight = this.run(s, opts.instances, fresh).then((next) => {
      s.inFlight = undefined;
      s.inFlightFresh = undefined;
      s.entry = next;
      if (!this.disposed) for (const l of [...this.listeners]) l(next);
      return next;
    });
    return s.inFlight;
  }

  private async run(s: Slot, instances: InstanceInfo[] | undefined, freshProbes: boolean): Promise<MonitorEntry> {
    const { envName, deployment } = s.entry;
    const prev = s.entry;
    const observe = this.opts.observe ?? observeDeployment;
    try {
      const session = await this.opts.session(envName, deployment);
      const observation = await observe(session, {
        // a poll reuses the quorum reads of a healthy cluster whose status did not change (observeEtcd.ts)
        quorumReadMaxAgeMs: DEFAULT_QUORUM_READ_MAX_AGE_MS,
        ...this.opts.observeOptions,
        ...(instances ? { instances } : {}),
        probeCache: s.probes,
        freshProbes,
      });
      const diagnosis = diagnose(observation);
      const reused = Object.values(observation.probes).filter((p) => p.reusedAgeMs !== undefined).length;
      this.opts.log?.(
        `diagnosis of ${deployment}: ${diagnosis.summary.line} (${observation.tookMs} ms${reused ? `, ${reused} VM probe(s) reused` : ''})`,
      );
      return {
        envName,
        deployment,
        diagnosis,
        observation,
        members: membersOf(observation),
        at: Date.now(),
        refreshing: false,
      };
    } catch (e) {
      const error = `could not diagnose etcd of ${deployment}: ${(e as Error).message}`;
      this.opts.log?.(error);
      return { ...prev, error, at: Date.now(), refreshing: false };
    }
  }

  /**
   * Keeps the deployment's diagnosis fresh: refreshes every intervalMs (the shortest of all
   * watchers') until every watcher disposed its handle. The first refresh starts at once.
   */
  watch(envName: string, deployment: string, intervalMs: number): { dispose(): void } {
    const s = this.slot(envName, deployment);
    const id = this.nextWatcher++;
    s.watchers.set(id, Math.max(1000, intervalMs));
    this.schedule(s);
    void this.refresh(envName, deployment, { maxAgeMs: Math.max(1000, intervalMs) });
    return {
      dispose: () => {
        s.watchers.delete(id);
        this.schedule(s);
        if (!s.watchers.size) this.sweep();
      },
    };
  }

  /** Number of watchers of a deployment (tests, the status bar). */
  watcherCount(envName: string, deployment: string): number {
    return this.slots.get(keyOf(envName, deployment))?.watchers.size ?? 0;
  }

  private schedule(s: Slot): void {
    const ms = s.watchers.size && !this.disposed ? Math.min(...s.watchers.values()) : undefined;
    if (ms === s.timerMs) return;
    if (s.timer) clearInterval(s.timer);
    s.timer = undefined;
    s.timerMs = ms;
    if (ms !== undefined)
      s.timer = setInterval(() => void this.refresh(s.entry.envName, s.entry.deployment, { probes: 'reuse' }), ms);
  }

  /** Drops a deployment's result (it is no longer shown anywhere); listeners of onDidForget hear it. */
  forget(envName: string, deployment: string): void {
    const k = keyOf(envName, deployment);
    const s = this.slots.get(k);
    if (!s) return;
    if (s.timer) clearInterval(s.timer);
    this.slots.delete(k);
    if (!this.disposed) for (const l of [...this.forgetListeners]) l(s.entry);
  }

  /**
   * Forgets every deployment that no watcher watches and that `retained` (the tree) does not show;
   * a refresh in flight is left to finish. Returns the deployments forgotten.
   */
  sweep(): MonitorEntry[] {
    const gone: MonitorEntry[] = [];
    for (const s of [...this.slots.values()]) {
      const { envName, deployment } = s.entry;
      if (s.watchers.size || s.inFlight || this.opts.retained?.(envName, deployment)) continue;
      gone.push(s.entry);
      this.forget(envName, deployment);
    }
    return gone;
  }

  dispose(): void {
    this.disposed = true;
    for (const s of this.slots.values()) if (s.timer) clearInterval(s.timer);
    this.slots.clear();
    this.listeners.clear();
    this.forgetListeners.clear();
  }
}
