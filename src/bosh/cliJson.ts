// Reads bosh CLI `--json` output (ui/json_ui.go: {"Tables":[{"Content","Header","Rows","Notes"}],
// "Blocks","Lines"}) of `bosh instances [--details] [--ps]`, `bosh vms` and `bosh deployments`, for
// operators who paste or pipe it. Row keys are the keyified column titles (ui/table/headers.go
// KeyifyHeader: "Process State" → process_state, "VM CID" → vm_cid, "Release(s)" → release_s);
// multi-value cells (IPs, Disk CIDs, releases) are joined with "\n". No `vscode` import.
import { DeploymentSummary, InstanceInfo, InstanceProcess } from './types';
import { compareInstances } from './vmInfo';

export interface BoshCliTable {
  Content: string;
  Header: Record<string, string>;
  Rows: Record<string, string>[];
  Notes?: string[] | null;
}

export interface BoshCliJson {
  Tables: BoshCliTable[] | null;
  Blocks: string[] | null;
  Lines: string[] | null;
}

export class CliJsonError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliJsonError';
  }
}

/** The CLI's KeyifyHeader: letters/digits lower-cased, everything else a separator, joined by `_`. */
export function keyifyHeader(title: string): string {
  const parts = title
    .replace(/[^\p{L}\p{N}]/gu, ' ')
    .toLowerCase()
    .split(' ')
    .filter((s) => s !== '');
  return parts.length ? parts.join('_') : '_';
}

/** Parses and checks the envelope. Throws CliJsonError saying what was expected. */
export function parseBoshCliJson(text: string): BoshCliJson {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    const first = text.trim().split('\n')[0] ?? '';
    throw new CliJsonError(
      `Not bosh CLI --json output (${(e as Error).message}); first line: ${JSON.stringify(first.slice(0, 120))}. Run the bosh command with --json.`,
    );
  }
  if (!j || typeof j !== 'object' || Array.isArray(j) || !('Tables' in j)) {
    throw new CliJsonError('Not bosh CLI --json output: expected an object with "Tables", "Blocks" and "Lines".');
  }
  const o = j as Record<string, unknown>;
  const tables = o.Tables;
  if (tables !== null && !Array.isArray(tables))
    throw new CliJsonError('bosh CLI --json output: "Tables" is not a list.');
  for (const t of (tables as unknown[]) ?? []) {
    const tt = t as Record<string, unknown>;
    if (!tt || typeof tt !== 'object' || typeof tt.Content !== 'string' || !Array.isArray(tt.Rows)) {
      throw new CliJsonError('bosh CLI --json output: a table lacks "Content" or "Rows".');
    }
  }
  return {
    Tables: (tables as BoshCliTable[] | null) ?? null,
    Blocks: Array.isArray(o.Blocks) ? (o.Blocks as string[]) : null,
    Lines: Array.isArray(o.Lines) ? (o.Lines as string[]) : null,
  };
}

/** `Using deployment 'x'` from the Lines, if present. */
export function deploymentFromLines(doc: BoshCliJson): string | undefined {
  for (const l of doc.Lines ?? []) {
    const m = /^Using deployment '([^']+)'/.exec(l);
    if (m) return m[1];
  }
  return undefined;
}

const cell = (r: Record<string, string>, k: string): string => (typeof r[k] === 'string' ? r[k] : '');
const multi = (s: string): string[] =>
  s
    .split('\n')
    .map((x) => x.trim())
    .filter((x) => x !== '');
const orNull = (s: string): string | null => (s.trim() === '' ? null : s.trim());

function tablesOf(doc: BoshCliJson, content: string, command: string): BoshCliTable[] {
  const ts = (doc.Tables ?? []).filter((t) => t.Content === content);
  if (ts.length === 0) {
    const have = (doc.Tables ?? []).map((t) => t.Content).join(', ') || 'none';
    throw new CliJsonError(
      `Expected the --json output of \`${command}\` (a table with Content "${content}"), found tables: ${have}.`,
    );
  }
  return ts;
}

function rowsToInstances(rows: Record<string, string>[], deployment: string): InstanceInfo[] {
  const out: InstanceInfo[] = [];
  let current: InstanceInfo | undefined;
  for (const r of rows) {
    const name = cell(r, 'instance');
    const proc = cell(r, 'process');
    if (proc) {
      // A --ps row; FillFirstColumn repeats the instance name on it.
      const owner =
        current && (name === '' || `${current.group}/${current.id}` === name)
          ? current
          : out.find((i) => `${i.group}/${i.id}` === name);
      if (!owner) throw new CliJsonError(`bosh CLI --json: process row '${proc}' does not follow an instance row.`);
      const p: InstanceProcess = { name: proc, state: cell(r, 'process_state') || 'unknown' };
      owner.processes.push(p);
      continue;
    }
    if (!name)
      throw new CliJsonError(
        `bosh CLI --json: an instances row has no "instance" value: ${JSON.stringify(r).slice(0, 200)}`,
      );
    const slash = name.indexOf('/');
    const group = slash < 0 ? name : name.slice(0, slash);
    const id = slash < 0 ? '' : name.slice(slash + 1);
    const idx = cell(r, 'index');
    const vmCid = orNull(cell(r, 'vm_cid'));
    const info: InstanceInfo = {
      deployment,
      group: group === '?' ? '' : group,
      id,
      index: /^[0-9]+$/.test(idx) ? Number(idx) : null,
      processState: orNull(cell(r, 'process_state')),
      state: cell(r, 'state'),
      az: orNull(cell(r, 'az')),
      ips: multi(cell(r, 'ips')),
      vmCid,
      vmType: orNull(cell(r, 'vm_type')),
      agentId: orNull(cell(r, 'agent_id')),
      bootstrap: cell(r, 'bootstrap') === 'true',
      ignore: cell(r, 'ignore') === 'true',
      diskCids: multi(cell(r, 'disk_cids')),
      processes: [],
      vmCreatedAt: orNull(cell(r, 'vm_created_at')),
    };
    if ('active' in r) info.active = r.active === 'true' ? true : r.active === 'false' ? false : null;
    if ('stemcell' in r) info.stemcell = orNull(cell(r, 'stemcell'));
    out.push(info);
    current = info;
  }
  return out;
}

/**
 * `bosh -d <dep> instances [--details] [--ps] --json` → InstanceInfo[] (sorted). The deployment
 * name comes from the argument, else from the `Using deployment '…'` line, else ''.
 * Columns not shown (no --details) come back empty/null/false.
 */
export function instancesFromCliJson(text: string, deployment?: string): InstanceInfo[] {
  const doc = parseBoshCliJson(text);
  const dep = deployment ?? deploymentFromLines(doc) ?? '';
  return tablesOf(doc, 'instances', 'bosh instances --details --json')
    .flatMap((t) => rowsToInstances(t.Rows, dep))
    .sort(compareInstances);
}

/** `bosh -d <dep> vms [--details] --json` → InstanceInfo[] (one per VM). */
export function vmsFromCliJson(text: string, deployment?: string): InstanceInfo[] {
  const doc = parseBoshCliJson(text);
  const dep = deployment ?? deploymentFromLines(doc) ?? '';
  return tablesOf(doc, 'vms', 'bosh vms --json')
    .flatMap((t) => rowsToInstances(t.Rows, dep))
    .sort(compareInstances);
}

function nameVersions(s: string): { name: string; version: string }[] {
  return multi(s).map((nv) => {
    const i = nv.lastIndexOf('/');
    return i < 0 ? { name: nv, version: '' } : { name: nv.slice(0, i), version: nv.slice(i + 1) };
  });
}

/** `bosh deployments --json` → DeploymentSummary[]. */
export function deploymentsFromCliJson(text: string): DeploymentSummary[] {
  const doc = parseBoshCliJson(text);
  return tablesOf(doc, 'deployments', 'bosh deployments --json').flatMap((t) =>
    t.Rows.map((r) => {
      const name = cell(r, 'name');
      if (!name)
        throw new CliJsonError(`bosh CLI --json: a deployments row has no "name": ${JSON.stringify(r).slice(0, 200)}`);
      const d: DeploymentSummary = {
        name,
        releases: nameVersions(cell(r, 'release_s')),
        stemcells: nameVersions(cell(r, 'stemcell_s')),
        teams: multi(cell(r, 'team_s')),
      };
      const cc = cell(r, 'cloud_config');
      if (cc) d.cloud_config = cc;
      return d;
    }),
  );
}
