// The validators of the health panel's message protocol (protocol.ts): every message either side
// receives goes through parsePanelMessage (host) or parseHostMessage (webview); anything that does
// not match the types exactly is ignored. No `vscode`, no Node, no DOM imports.
import type {
  AlarmRow,
  BannerRow,
  EndpointRow,
  FindingRow,
  HealthSnapshot,
  HistoryPoint,
  HostToPanel,
  MemberRow,
  PanelButton,
  PanelFlow,
  PanelState,
  PanelToHost,
  RowSeverity,
  SizeRow,
  Thresholds,
} from './protocol';

function isObj(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
const isStr = (x: unknown): x is string => typeof x === 'string';
const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const isBool = (x: unknown): x is boolean => typeof x === 'boolean';
const isReqId = (x: unknown): x is number => isNum(x) && Number.isInteger(x) && x >= 0;
/** UUID-like member names only (they end up in a command). */
const MEMBER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const PANEL_FLOWS: readonly string[] = [
  'defrag',
  'recover-nospace',
  'take-snapshot',
  'restore-quorum',
] satisfies PanelFlow[];
const isPanelFlow = (x: unknown): x is PanelFlow => isStr(x) && PANEL_FLOWS.includes(x);
/** A command line to copy: one printable line of bounded length. */
const isCommandText = (x: unknown): x is string =>
  isStr(x) && x.length > 0 && x.length <= 2000 && [...x].every((ch) => ch >= ' ' && ch !== '\u007f');

/** Validates a message from the webview; undefined = ignore it. */
export function parsePanelMessage(x: unknown): PanelToHost | undefined {
  if (!isObj(x) || !isStr(x.type)) return undefined;
  switch (x.type) {
    case 'ready':
      return { type: 'ready' };
    case 'refresh':
      return isReqId(x.requestId) ? { type: 'refresh', requestId: x.requestId } : undefined;
    case 'setPaused':
      return isReqId(x.requestId) && isBool(x.paused)
        ? { type: 'setPaused', requestId: x.requestId, paused: x.paused }
        : undefined;
    case 'recoverMember':
      return isReqId(x.requestId) && isStr(x.memberName) && MEMBER_NAME.test(x.memberName)
        ? { type: 'recoverMember', requestId: x.requestId, memberName: x.memberName }
        : undefined;
    case 'startFlow':
      return isReqId(x.requestId) && isPanelFlow(x.flow)
        ? { type: 'startFlow', requestId: x.requestId, flow: x.flow }
        : undefined;
    case 'copyCommand':
      return isReqId(x.requestId) && isCommandText(x.command)
        ? { type: 'copyCommand', requestId: x.requestId, command: x.command }
        : undefined;
    default:
      return undefined;
  }
}

function isStrArr(x: unknown): x is string[] {
  return Array.isArray(x) && x.every(isStr);
}

function isRow(x: unknown): x is EndpointRow {
  return (
    isObj(x) &&
    isStr(x.endpoint) &&
    isStr(x.memberName) &&
    isStr(x.id) &&
    isStr(x.version) &&
    isNum(x.dbSize) &&
    isBool(x.isLeader) &&
    isBool(x.isLearner) &&
    isStr(x.raftTerm) &&
    isStr(x.raftIndex) &&
    isStr(x.raftAppliedIndex) &&
    isStrArr(x.errors) &&
    isBool(x.unreachable) &&
    isBool(x.failing) &&
    isSeverity(x.severity) &&
    isStr(x.state) &&
    (x.healthy === undefined || isBool(x.healthy)) &&
    (x.healthMs === undefined || isNum(x.healthMs)) &&
    (x.error === undefined || isStr(x.error)) &&
    (x.instance === undefined || isStr(x.instance)) &&
    (x.az === undefined || isStr(x.az))
  );
}

function isMember(x: unknown): x is MemberRow {
  return (
    isObj(x) &&
    isStr(x.id) &&
    isStr(x.name) &&
    isStr(x.state) &&
    isBool(x.isLearner) &&
    isStrArr(x.peerURLs) &&
    isStrArr(x.clientURLs) &&
    isStrArr(x.flags) &&
    isSeverity(x.severity) &&
    isBool(x.recoverable) &&
    (x.instance === undefined || isStr(x.instance))
  );
}

const isSeverity = (x: unknown): x is RowSeverity => x === 'critical' || x === 'warning' || x === 'ok';
const isOptStr = (x: unknown) => x === undefined || isStr(x);
const isOptNum = (x: unknown) => x === undefined || isNum(x);

export function isButton(x: unknown): x is PanelButton {
  if (!isObj(x) || !isStr(x.label)) return false;
  switch (x.kind) {
    case 'recover-member':
      return isStr(x.instanceId) && MEMBER_NAME.test(x.instanceId);
    case 'defrag':
    case 'recover-nospace':
    case 'restore-quorum':
      return true;
    case 'copy-command':
      return isCommandText(x.command);
    default:
      return false;
  }
}

function isAlarm(x: unknown): x is AlarmRow {
  return (
    isObj(x) &&
    isStr(x.memberId) &&
    isStr(x.alarm) &&
    isOptStr(x.member) &&
    isStr(x.rule) &&
    (x.button === undefined || isButton(x.button))
  );
}

function isFinding(x: unknown): x is FindingRow {
  return (
    isObj(x) &&
    (x.severity === 'critical' || x.severity === 'warning' || x.severity === 'info') &&
    isStr(x.kind) &&
    isStr(x.title) &&
    isOptStr(x.instance) &&
    isStr(x.evidence) &&
    isStr(x.action) &&
    isOptStr(x.command) &&
    (x.button === undefined || isButton(x.button))
  );
}

function isBanner(x: unknown): x is BannerRow {
  return isObj(x) && isStr(x.kind) && isStr(x.title) && isStr(x.meaning) && isStr(x.todo);
}

function isSize(x: unknown): x is SizeRow {
  return (
    isObj(x) &&
    isStr(x.instance) &&
    isStr(x.endpoint) &&
    isNum(x.dbSize) &&
    isOptNum(x.dbSizeInUse) &&
    isOptNum(x.fragmentationPct) &&
    isNum(x.quotaBytes) &&
    isBool(x.quotaKnown) &&
    isNum(x.quotaPct) &&
    isBool(x.nearQuota) &&
    isBool(x.fragmented)
  );
}

function isThresholds(x: unknown): x is Thresholds {
  return isObj(x) && isNum(x.nearQuotaRatio) && isNum(x.fragmentationInUseRatio) && isNum(x.fragmentationMinDbBytes);
}

function isHistory(x: unknown): x is Record<string, HistoryPoint[]> {
  return (
    isObj(x) &&
    Object.values(x).every(
      (pts) => Array.isArray(pts) && pts.every((p) => isObj(p) && isNum(p.t) && isNum(p.raftIndex) && isNum(p.dbSize)),
    )
  );
}

export function isSnapshot(x: unknown): x is HealthSnapshot {
  return (
    isObj(x) &&
    isNum(x.at) &&
    isStr(x.envName) &&
    isStr(x.deployment) &&
    (x.clusterId === undefined || isStr(x.clusterId)) &&
    (x.leader === undefined || isStr(x.leader)) &&
    Array.isArray(x.rows) &&
    x.rows.every(isRow) &&
    Array.isArray(x.members) &&
    x.members.every(isMember) &&
    Array.isArray(x.alarms) &&
    x.alarms.every(isAlarm) &&
    isHistory(x.history) &&
    isNum(x.healthy) &&
    isNum(x.total) &&
    isStrArr(x.problems) &&
    isSeverity(x.worst) &&
    isStr(x.headline) &&
    isStr(x.summaryLine) &&
    Array.isArray(x.findings) &&
    x.findings.every(isFinding) &&
    Array.isArray(x.banners) &&
    x.banners.every(isBanner) &&
    Array.isArray(x.sizes) &&
    x.sizes.every(isSize) &&
    isThresholds(x.thresholds) &&
    isStrArr(x.unchecked)
  );
}

/** Validates a message from the host (the webview checks too). */
export function parseHostMessage(x: unknown): HostToPanel | undefined {
  if (!isObj(x) || !isStr(x.type)) return undefined;
  const rid = x.requestId === undefined || isReqId(x.requestId);
  switch (x.type) {
    case 'init':
      return isStr(x.envName) && isStr(x.deployment) && isBool(x.paused) && isNum(x.pollSeconds) && isBool(x.canRecover)
        ? (x as HostToPanel)
        : undefined;
    case 'snapshot':
      return rid && isSnapshot(x.snapshot) ? (x as HostToPanel) : undefined;
    case 'paused':
      return rid && isBool(x.paused) ? (x as HostToPanel) : undefined;
    case 'error':
      return rid && isStr(x.message) && (x.detail === undefined || isStr(x.detail)) ? (x as HostToPanel) : undefined;
    case 'notice':
      return rid && isStr(x.message) ? (x as HostToPanel) : undefined;
    default:
      return undefined;
  }
}

export function isPanelState(x: unknown): x is PanelState {
  return isObj(x) && isStr(x.envName) && isStr(x.deployment);
}
