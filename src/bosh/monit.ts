// `monit summary` parsers: BOSH's monit 5.2.5 (`Process 'etcd'                      running`) and
// Debian's monit 5.33 table (plain when piped, box-drawn with colours on a TTY). States are mapped
// the way the BOSH agent maps monit's status, so they match what the Director reports. No `vscode` import.

export type MonitProcessState = 'running' | 'failing' | 'unknown' | 'starting';

export interface MonitService {
  name: string;
  /** 'Process' | 'System' | 'File' | 'Filesystem' | 'Directory' | 'Fifo' | 'Remote Host' | 'Program' | 'Network' */
  type: string;
  /** Status text as printed, without the pending suffix (`running`, `not monitored`, `Does not exist`, `OK`, …). */
  status: string;
  /** The agent's view of this service. */
  state: MonitProcessState;
  /** Pending action (`start`, `stop`, `restart`, `unmonitor`, …) from ` - start pending`; may be cut short in 5.33 (`unmonito`). */
  pending?: string;
  /** 5.33 cuts long status texts with `...`: `status` is then a prefix. */
  truncated?: boolean;
}

export interface MonitSummary {
  /** e.g. '5.2.5', '5.33.0'; '' if the header is missing. */
  version: string;
  /** e.g. '17h 13m'. */
  uptime: string;
  format: '5.2' | '5.33';
  services: MonitService[];
}

export class MonitParseError extends Error {
  constructor(
    message: string,
    public readonly line?: string,
    public readonly lineNumber?: number,
  ) {
    super(line !== undefined ? `${message} (line ${lineNumber}: ${JSON.stringify(line)})` : message);
    this.name = 'MonitParseError';
  }
}

const SERVICE_TYPES = [
  'Process',
  'System',
  'File',
  'Fifo',
  'Directory',
  'Filesystem',
  'Remote Host',
  'Program',
  'Network',
];
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;
const BOX_LINE = /^[\s┌┬┐├┼┤└┴┘─═╞╪╡╘╧╛╒╤╕]+$/;

/**
 * The agent's mapping: `running`/`OK`/`accessible`/`online with all services` → running;
 * `not monitored` → unknown; `initializing` → starting; any error text (`Does not exist`,
 * `Execution failed`, …) → failing. A pending action does not change the mapping.
 */
export function monitStatusToState(status: string): MonitProcessState {
  const s = status
    .trim()
    .toLowerCase()
    .replace(/\.\.\.$/, '');
  if (s === 'running' || s === 'ok' || s === 'accessible' || s === 'online with all services' || s === 'status ok')
    return 'running';
  if (s.startsWith('not monitored')) return 'unknown';
  if (s.startsWith('initializing')) return 'starting';
  if (s === 'unknown') return 'unknown';
  return 'failing';
}

function splitPending(text: string): { status: string; pending?: string; truncated?: boolean } {
  let t = text.trim();
  let truncated = false;
  if (t.endsWith('...')) {
    truncated = true;
    t = t.slice(0, -3).trimEnd();
  }
  // The cut may fall inside the action (`- unmonito...`) or inside the word `pending` (`- start p...`).
  const m = /^(.*?) - ([a-z]+)(?: (p[a-z]*))?$/.exec(t);
  if (m && (m[3] === 'pending' || (truncated && (m[3] === undefined || 'pending'.startsWith(m[3]))))) {
    // A cut inside the pending action leaves the status itself complete.
    return { status: m[1], pending: m[2] };
  }
  return truncated ? { status: t, truncated: true } : { status: t };
}

function service(name: string, type: string, statusText: string): MonitService {
  const { status, pending, truncated } = splitPending(statusText);
  const s: MonitService = { name, type, status, state: monitStatusToState(status) };
  if (pending) s.pending = pending;
  if (truncated) s.truncated = true;
  return s;
}

/** `monit summary` of either version (auto-detected). */
export function parseMonitSummary(text: string): MonitSummary {
  const ls = text.replace(ANSI, '').replace(/\r/g, '').split('\n');
  let version = '';
  let uptime = '';
  let format: '5.2' | '5.33' | undefined;
  const services: MonitService[] = [];
  let cols: { status: number; type: number } | undefined;

  ls.forEach((raw, i) => {
    const line = raw.replace(/\s+$/, '');
    const n = i + 1;
    if (line.trim() === '' || BOX_LINE.test(line)) return;
    let m = /^The Monit daemon (\S+) uptime: (.*)$/.exec(line.trim());
    if (m) {
      version = m[1];
      uptime = m[2].trim();
      format = '5.2';
      return;
    }
    m = /^Monit (\S+) uptime: (.*)$/.exec(line.trim());
    if (m) {
      version = m[1];
      uptime = m[2].trim();
      format = '5.33';
      return;
    }
    // 5.2.5: `Process 'etcd'                      running` (`%-35s %s`).
    m = new RegExp(`^(${SERVICE_TYPES.join('|')}) '([^']+)'\\s+(.+)$`).exec(line);
    if (m) {
      format ??= '5.2';
      services.push(service(m[2], m[1], m[3]));
      return;
    }
    // 5.33 boxed (TTY): `│ etcd   │ OK   │ Process │`
    if (line.includes('│')) {
      const cells = line.split('│').map((c) => c.trim());
      if (cells.length >= 5) {
        const [, name, status, type] = cells;
        if (name === 'Service Name') {
          format = '5.33';
          return;
        }
        format = '5.33';
        services.push(service(name, type, status));
        return;
      }
    }
    // 5.33 plain (piped): header gives the column offsets.
    const hdr = /^(\s*)Service Name(\s+)Status(\s+)Type\s*$/.exec(line);
    if (hdr) {
      format = '5.33';
      const statusCol = line.indexOf('Status');
      cols = { status: statusCol, type: line.indexOf('Type', statusCol + 6) };
      return;
    }
    if (cols) {
      const name = line.slice(0, cols.status).trim();
      const status = line.slice(cols.status, cols.type).trim();
      const type = line.slice(cols.type).trim();
      if (name && status && type) {
        services.push(service(name, type, status));
        return;
      }
    }
    // Warnings monit prints before the summary (e.g. `…/monitrc:8: Warning: include files not found …`).
    if (/warning/i.test(line) || /^Cannot |^monit: /i.test(line.trim())) return;
    throw new MonitParseError('Unexpected line in `monit summary` output', raw, n);
  });
  if (!format) throw new MonitParseError('Not `monit summary` output: no header and no service lines');
  return { version, uptime, format, services };
}

/**
 * The agent's aggregate job_state from the Process services: the first `starting` wins,
 * then any service not running → failing, else running (also when there are none).
 */
export function aggregateJobState(services: MonitService[]): MonitProcessState {
  const procs = services.filter((s) => s.type === 'Process');
  for (const s of procs) if (s.state === 'starting') return 'starting';
  if (procs.some((s) => s.state !== 'running')) return 'failing';
  return 'running';
}

/** Finds one service by name (e.g. 'etcd'). */
export function findService(summary: MonitSummary, name: string): MonitService | undefined {
  return summary.services.find((s) => s.name === name);
}
