// Director instance/VM records (snake_case JSON from the Director) → the camelCase InstanceInfo model.
// Field by field as the bosh CLI reads them, so the tree shows what `bosh instances` shows. No `vscode` import.
import { BoshError, InstanceInfo, InstanceProcess } from './types';

type Raw = Record<string, unknown>;

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const num = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isFinite(v)
    ? v
    : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))
      ? Number(v)
      : undefined;

function toProcess(p: unknown): InstanceProcess | undefined {
  if (!p || typeof p !== 'object') return undefined;
  const r = p as Raw;
  if (typeof r.name !== 'string') return undefined;
  const out: InstanceProcess = { name: r.name, state: typeof r.state === 'string' ? r.state : 'unknown' };
  const up = r.uptime as Raw | undefined;
  if (up && typeof up === 'object') out.uptime = { secs: num(up.secs) };
  const mem = r.mem as Raw | undefined;
  if (mem && typeof mem === 'object') out.mem = { kb: num(mem.kb), percent: num(mem.percent) };
  const cpu = r.cpu as Raw | undefined;
  if (cpu && typeof cpu === 'object') out.cpu = { total: num(cpu.total) };
  return out;
}

/** One `?format=full` result object → InstanceInfo (as the CLI's VMInfo, plus `disk_cid` fallback). */
export function toInstanceInfo(raw: unknown, deployment: string): InstanceInfo {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new BoshError(
      'protocol',
      `Unmarshaling instance info response: expected an object, got ${JSON.stringify(raw)?.slice(0, 200)}`,
    );
  }
  const r = raw as Raw;
  const diskCids = Array.isArray(r.disk_cids)
    ? r.disk_cids.filter((d): d is string => typeof d === 'string' && d !== '')
    : [];
  if (diskCids.length === 0 && str(r.disk_cid)) diskCids.push(r.disk_cid as string);
  const stemcell = r.stemcell as Raw | undefined | null;
  const info: InstanceInfo = {
    deployment,
    group: str(r.job_name) ?? str(r.job) ?? '',
    id: str(r.id) ?? '',
    index: typeof r.index === 'number' ? r.index : null,
    processState: str(r.job_state),
    state: str(r.state) ?? '',
    az: str(r.az),
    ips: Array.isArray(r.ips) ? r.ips.filter((x): x is string => typeof x === 'string') : [],
    vmCid: str(r.vm_cid) ?? str(r.cid),
    vmType: str(r.vm_type) ?? str(r.resource_pool),
    agentId: str(r.agent_id),
    bootstrap: r.bootstrap === true,
    ignore: r.ignore === true,
    diskCids,
    processes: Array.isArray(r.processes) ? r.processes.map(toProcess).filter((p): p is InstanceProcess => !!p) : [],
    vmCreatedAt: str(r.vm_created_at),
    active: typeof r.active === 'boolean' ? r.active : null,
    stemcell:
      stemcell && typeof stemcell === 'object' && str(stemcell.name)
        ? `${stemcell.name}/${str(stemcell.version) ?? ''}`
        : null,
    // `bosh stop --hard` leaves state `detached` and no VM; any other state without a VM cid misses its VM.
    vmState: str(r.state) === 'detached' ? 'detached' : (str(r.vm_cid) ?? str(r.cid)) ? 'present' : 'missing',
  };
  if (typeof r.expects_vm === 'boolean') info.expectsVm = r.expects_vm;
  return info;
}

/** Orders instances as an operator reads them: group, then index, then id. */
export function compareInstances(
  a: Pick<InstanceInfo, 'group' | 'index' | 'id'>,
  b: Pick<InstanceInfo, 'group' | 'index' | 'id'>,
): number {
  if (a.group !== b.group) return a.group < b.group ? -1 : 1;
  const ai = a.index ?? Number.MAX_SAFE_INTEGER;
  const bi = b.index ?? Number.MAX_SAFE_INTEGER;
  if (ai !== bi) return ai - bi;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * The result output of a vm_state task (`instances?format=full` / `vms?format=full`): one JSON object
 * per line, in any order. Empty lines are skipped. Sorted with compareInstances.
 */
export function parseInstanceInfoLines(text: string, deployment: string): InstanceInfo[] {
  const out: InstanceInfo[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      throw new BoshError(
        'protocol',
        `Unmarshaling instance info response: '${line.length > 300 ? line.slice(0, 300) + '…' : line}'`,
      );
    }
    out.push(toInstanceInfo(raw, deployment));
  }
  return out.sort(compareInstances);
}

/** What the CLI's "Process State" column shows (blank for running-without-processes, as `bosh is`). */
export function processStateCell(i: Pick<InstanceInfo, 'processState' | 'processes'>): string {
  if (i.processState === 'running' && i.processes.length === 0) return '';
  return i.processState ?? '';
}

/** Running as the bosh CLI counts it: job_state running and every process running. */
export function isInstanceRunning(i: Pick<InstanceInfo, 'processState' | 'processes'>): boolean {
  return i.processState === 'running' && i.processes.every((p) => p.state === 'running');
}
