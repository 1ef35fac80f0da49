// Public API of the maintenance flows (plain Node, no `vscode`): the panel, the tree, the
// diagnosis actions and the CLI use only this.
export { defragCluster, rollingDefrag, summarizeObservation, DEFAULT_SETTLE_MS } from './defrag';
export { recoverNospace } from './nospace';
export { observeMaintenance, listAlarms } from './observe';
export {
  planDefrag,
  planNospace,
  maintenanceRefusals,
  defragOrder,
  fragmentationOf,
  worthDefragmenting,
  estimateDefragSeconds,
  defragConsequences,
  formatDefragPlan,
  formatNospacePlan,
  formatBytes,
  quotaOf,
  DEFAULT_PAUSE_MS,
  DEFAULT_MIN_RECLAIMABLE_BYTES,
  DEFAULT_MIN_FRAGMENTED_PERCENT,
} from './plan';
export { MaintenanceTranscript } from './transcript';
export { WRITE_TEST_PREFIX, DEFAULT_QUOTA_BYTES } from './commands';
export * from './types';
