// One diagnosis for every surface: observe (I/O) → classify (pure) → findings and a summary.
export * from './types';
export {
  observeDeployment,
  probeCommand,
  parseVmProbe,
  probeVmHost,
  etcdMasters,
  majorityClusterId,
  DEFAULT_QUOTA_BYTES,
  DEFAULT_QUORUM_READ_MAX_AGE_MS,
  type ClusterObservation,
  type EndpointObservation,
  type ObserveOptions,
  type Outcome,
  type VmProbe,
} from './observe';
export { classify } from './classify';
export { observeSnapshots, SNAPSHOT_WARN_AGE_MS } from './observeSnapshots';
export { ageWords } from './rules/snapshots';
export { causeFromLog } from './causes';
export { NEAR_QUOTA_RATIO } from './rules/capacity';
export {
  diagnose,
  summarize,
  findingsForInstance,
  worstFindingForInstance,
  memberStateWord,
  recoverableInstances,
  exitCodeFor,
  severityRank,
  EXIT_CODES,
  type MemberStateWord,
} from './summary';

import type { DeploymentSession } from '../session/types';
import { observeDeployment as observe, type ObserveOptions as Options } from './observe';
import { diagnose as classifyAll } from './summary';
import type { Diagnosis } from './types';

/** Observes the deployment and classifies it: what every surface calls. */
export async function diagnoseDeployment(session: DeploymentSession, opts: Options = {}): Promise<Diagnosis> {
  return classifyAll(await observe(session, opts));
}
export {
  DiagnosisMonitor,
  DEFAULT_PROBE_MAX_AGE_MS,
  type MonitorEntry,
  type DiagnosisMonitorOptions,
  type MonitorListener,
  type RefreshOptions,
} from './monitor';
export { ProbeCache, endpointPicture } from './probeCache';
export {
  headline,
  clusterHeadline,
  clusterFindings,
  alarmExplanation,
  worstFirst,
  CLUSTER_ALARM_KINDS,
} from './headline';
export { membersOf, clusterMembers, runsEtcd, shortInstanceName, type MemberView, type MemberRole } from './membership';
