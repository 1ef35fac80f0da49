// Public API of the recovery engine (plain Node, no `vscode`): the wizard and the CLI use only this.
export { observeCluster, parseMonitEtcd, parseProbe, labelOf } from './observe';
export type { Observation, VmProbe, MemberView, MonitState, RecoveryStateRecord } from './observe';
export { planRecovery, formatPlan, quorumOf, targetMembership } from './plan';
export type { PlanOptions, TargetMembership } from './plan';
export { runRecovery, summarize, StepError, CancelledError } from './engine';
export { Transcript, redact } from './transcript';
export * from './events';
export {
  shellQuote,
  ValidationError,
  validateInstanceLabel,
  validateInstanceId,
  validateMemberId,
  validatePeerUrl,
  expectedPeerUrl,
  expectedClientUrl,
} from './commands';
export type { RemoteCommand } from './commands';
