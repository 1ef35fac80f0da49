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
  type ClusterObservation,
  type EndpointObservation,
  type ObserveOptions,
  type Outcome,
  type VmProbe,
} from './observe';
export {
  classify,
  diagnose,
  summarize,
  causeFromLog,
  findingsForInstance,
  worstFindingForInstance,
  memberStateWord,
  recoverableInstances,
  exitCodeFor,
  severityRank,
  EXIT_CODES,
  NEAR_QUOTA_RATIO,
  type MemberStateWord,
} from './classify';
