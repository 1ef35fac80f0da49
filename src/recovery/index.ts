// Public API of the recovery engine (plain Node, no `vscode`): the wizard and the CLI use only this.
export { observeCluster, etcdMonitState, parseProbe, labelOf } from './observe';
export type { Observation, VmProbe, MemberView, MonitState, RecoveryStateRecord } from './observe';
export { planRecovery, formatPlan } from './plan';
export type { PlanOptions } from './plan';
export { quorumOf, targetMembership } from './membership';
export type { TargetMembership } from './membership';
export { runRecovery, summarize, StepError } from './engine';
export { CancelledError } from '../util/cancel';
export { Transcript, redact } from './transcript';
export * from './events';
export { shellQuote } from '../util/shell';
export {
  ValidationError,
  validateInstanceLabel,
  validateInstanceId,
  validateMemberId,
  validatePeerUrl,
  expectedPeerUrl,
  expectedClientUrl,
} from './commands';
export type { RemoteCommand } from './commands';
