// Snapshots as a first-class object: save (streamed from one healthy member), verify (without
// etcdutl), list, delete, and the newest one of a deployment. Plain Node, no `vscode`.
export { saveSnapshot, SnapshotError } from './save';
export type { SaveSnapshotOptions, SavedSnapshot, SaveProgress, SnapshotErrorKind } from './save';
export { verifySnapshot } from './verify';
export type { VerifyResult, VerifyOk, VerifyFailed, VerifyProblem } from './verify';
export { listSnapshots, deleteSnapshot, newestSnapshot } from './store';
export type { SnapshotEntry, ListOptions } from './store';
export { defaultSnapshotDir, snapshotDirFrom, metadataPathOf, readMetadata, snapshotFileName } from './metadata';
export type { SnapshotMetadata } from './metadata';
export type { BoltStatus } from './bbolt';
