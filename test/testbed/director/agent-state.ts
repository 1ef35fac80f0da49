// What a BOSH agent would answer to `get_state('full')`, derived LIVE from the VM's real monit.
//
// STAND-IN NOTE: a real Director asks the agent over NATS; the agent asks monit over HTTP
// (`GET /_status2?format=xml`, bosh-agent jobsupervisor/monit/http_client.go). Here the Director
// stand-in asks each VM's monit directly through its unix socket, and applies the agent's mapping
// (bosh-agent jobsupervisor/monit/status.go and state.go):
//   per service of group `vcap`: not monitored → unknown, initializing → starting,
//                                monitored and status 0 → running, otherwise → failing;
//   aggregate job_state: `<vcap>/monit/stopped` exists → stopped; first `starting` wins;
//                        any service not running → failing; else running (also with no services).
// If monit does not answer in time (VM down, monit dead), the Director's RpcTimeout path is taken:
// job_state `unresponsive agent`, vitals null, processes [].
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';

export interface AgentProcess {
  name: string;
  state: 'running' | 'failing' | 'unknown' | 'starting';
  uptime?: { secs?: number };
  mem?: { kb?: number; percent?: number };
  cpu?: { total?: number };
}

/** vitals as the agent reports them: every leaf a string except uptime.secs. */
export interface AgentVitals {
  cpu: { sys: string; user: string; wait: string };
  disk: Record<string, { percent: string; inode_percent: string }>;
  load: string[];
  mem: { kb: string; percent: string };
  swap: { kb: string; percent: string };
  uptime: { secs: number };
}

export interface AgentState {
  job_state: string;
  processes: AgentProcess[];
  vitals: AgentVitals | null;
}

export interface MonitService {
  name: string;
  type: number;
  status: number;
  monitor: number;
  pendingAction: number;
  uptime?: number;
  memKb?: number;
  memPercent?: number;
  cpuPercent?: number;
  system?: {
    load: string[];
    cpu: { user: string; system: string; wait: string };
    mem: { kb: string; percent: string };
    swap: { kb: string; percent: string };
  };
}

export interface MonitStatus {
  services: MonitService[];
  /** service names per service group; undefined when monit did not report groups (old /_status). */
  groups?: Record<string, string[]>;
}

const tag = (xml: string, name: string): string | undefined => {
  const m = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml);
  return m ? m[1] : undefined;
};
const section = (xml: string, name: string): string => {
  const m = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml);
  return m ? m[1] : '';
};
const num = (s: string | undefined): number | undefined =>
  s === undefined || s === '' || isNaN(Number(s)) ? undefined : Number(s);

/** Parses monit's `/_status2?format=xml` (services keyed by name attribute, plus servicegroups) or the older `/_status?format=xml`. */
export function parseMonitXml(xml: string): MonitStatus {
  const services: MonitService[] = [];
  const re = /<service(?:\s+name="([^"]*)"|\s+type="(\d+)")\s*>([\s\S]*?)<\/service>/g;
  let m: RegExpExecArray | null;
  const servicesXml = xml.replace(/<servicegroups>[\s\S]*<\/servicegroups>/, '');
  while ((m = re.exec(servicesXml))) {
    const body = m[3];
    const name = m[1] ?? tag(body, 'name') ?? '';
    const type = num(m[2] ?? tag(body, 'type')) ?? -1;
    // Only the service's own first-level fields: strip nested sections before reading status/monitor.
    const flat = body.replace(/<(memory|cpu|filedescriptors|read|write|system|port|unix|icmp)>[\s\S]*?<\/\1>/g, '');
    const svc: MonitService = {
      name,
      type,
      status: num(tag(flat, 'status')) ?? 0,
      monitor: num(tag(flat, 'monitor')) ?? 0,
      pendingAction: num(tag(flat, 'pendingaction')) ?? 0,
      uptime: num(tag(flat, 'uptime')),
    };
    const mem = section(body, 'memory');
    const cpu = section(body, 'cpu');
    if (type === 3) {
      svc.memKb = num(tag(mem, 'kilobytetotal') ?? tag(mem, 'kilobyte'));
      svc.memPercent = num(tag(mem, 'percenttotal') ?? tag(mem, 'percent'));
      svc.cpuPercent = num(tag(cpu, 'percenttotal') ?? tag(cpu, 'percent'));
    }
    if (type === 5) {
      // greedy: <system> also appears inside <cpu> (cpu system time)
      const sys = /<system>([\s\S]*)<\/system>/.exec(body)?.[1] ?? '';
      const load = section(sys, 'load');
      const scpu = section(sys, 'cpu');
      const smem = section(sys, 'memory');
      const swap = section(sys, 'swap');
      svc.system = {
        load: [tag(load, 'avg01') ?? '0.00', tag(load, 'avg05') ?? '0.00', tag(load, 'avg15') ?? '0.00'],
        cpu: { user: tag(scpu, 'user') ?? '0', system: tag(scpu, 'system') ?? '0', wait: tag(scpu, 'wait') ?? '0' },
        mem: { kb: tag(smem, 'kilobyte') ?? '0', percent: tag(smem, 'percent') ?? '0' },
        swap: { kb: tag(swap, 'kilobyte') ?? '0', percent: tag(swap, 'percent') ?? '0' },
      };
    }
    services.push(svc);
  }
  let groups: Record<string, string[]> | undefined;
  const g = /<servicegroups>([\s\S]*?)<\/servicegroups>/.exec(xml);
  if (g) {
    groups = {};
    const gre = /<servicegroup\s+name="([^"]*)"\s*>([\s\S]*?)<\/servicegroup>/g;
    let gm: RegExpExecArray | null;
    while ((gm = gre.exec(g[1]))) {
      groups[gm[1]] = [...gm[2].matchAll(/<service>([^<]*)<\/service>/g)].map((x) => x[1]);
    }
  }
  return { services, groups };
}

/** The agent's per-process state (bosh-agent jobsupervisor/monit/status.go StatusString). */
export function processState(s: Pick<MonitService, 'monitor' | 'status'>): AgentProcess['state'] {
  if (s.monitor === 0) return 'unknown';
  if (s.monitor === 2) return 'starting';
  return s.status === 0 ? 'running' : 'failing';
}

/** Services of the `vcap` group (process services only when monit gives no groups). */
export function vcapServices(st: MonitStatus): MonitService[] {
  if (st.groups) {
    const names = new Set(st.groups.vcap ?? []);
    return st.services.filter((s) => names.has(s.name));
  }
  return st.services.filter((s) => s.type === 3);
}

/** The agent's aggregate job_state (bosh-agent monit_job_supervisor.go Status()). */
export function aggregateJobState(processes: Pick<AgentProcess, 'state'>[]): string {
  for (const p of processes) if (p.state === 'starting') return 'starting';
  for (const p of processes) if (p.state !== 'running') return 'failing';
  return 'running';
}

export function toAgentProcesses(st: MonitStatus): AgentProcess[] {
  return vcapServices(st).map((s) => {
    const p: AgentProcess = { name: s.name, state: processState(s) };
    // Go `omitempty`: zero secs/kb are left out, like the agent's JSON.
    p.uptime = s.uptime ? { secs: Math.max(0, Math.floor(s.uptime)) } : {};
    p.mem = { ...(s.memKb ? { kb: Math.max(0, Math.floor(s.memKb)) } : {}), percent: s.memPercent ?? 0 };
    p.cpu = { total: s.cpuPercent ?? 0 };
    return p;
  });
}

/** Disk usage of the folder holding `p`, as agent vitals strings. */
function diskVitals(p: string): { percent: string; inode_percent: string } | undefined {
  try {
    const s = fs.statfsSync(p);
    const pct = (used: number, total: number) => (total > 0 ? String(Math.round((used / total) * 100)) : '0');
    return { percent: pct(s.blocks - s.bfree, s.blocks), inode_percent: pct(s.files - s.ffree, s.files) };
  } catch {
    return undefined;
  }
}

export function toVitals(st: MonitStatus, vmDir: string): AgentVitals {
  const sys = st.services.find((s) => s.type === 5)?.system;
  const load = sys?.load ?? os.loadavg().map((l) => l.toFixed(2));
  const disk: AgentVitals['disk'] = {};
  const system = diskVitals(vmDir);
  if (system) {
    disk.system = system;
    disk.ephemeral = system;
  }
  const persistent = diskVitals(path.join(vmDir, 'vcap', 'store'));
  if (persistent && fs.existsSync(path.join(vmDir, 'vcap', 'store'))) disk.persistent = persistent;
  return {
    cpu: { sys: sys?.cpu.system ?? '0.0', user: sys?.cpu.user ?? '0.0', wait: sys?.cpu.wait ?? '0.0' },
    disk,
    load,
    mem: sys ? { kb: sys.mem.kb, percent: String(Math.round(Number(sys.mem.percent))) } : { kb: '0', percent: '0' },
    swap: sys ? { kb: sys.swap.kb, percent: String(Math.round(Number(sys.swap.percent))) } : { kb: '0', percent: '0' },
    uptime: { secs: Math.floor(os.uptime()) },
  };
}

/** Short alias path for sockets whose path exceeds the unix-socket limit (~107 bytes). */
function reachableSocketPath(sock: string, aliasDir: string): string {
  if (Buffer.byteLength(sock) < 100) return sock;
  fs.mkdirSync(aliasDir, { recursive: true, mode: 0o700 });
  const alias = path.join(aliasDir, Buffer.from(sock).toString('base64url').slice(-24));
  try {
    if (fs.readlinkSync(alias) === sock) return alias;
    fs.unlinkSync(alias);
  } catch {
    /* not there yet */
  }
  fs.symlinkSync(sock, alias);
  return alias;
}

function monitGet(socketPath: string, urlPath: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      req.destroy(new Error(`monit did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const req = http.get({ socketPath, path: urlPath, headers: { Host: 'localhost' }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('latin1') });
      });
      res.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** Reads the VM's monit status over `<vm.dir>/vcap/monit/monit.sock`. Throws when monit does not answer. */
export async function readMonit(vmDir: string, timeoutMs: number, aliasDir: string): Promise<MonitStatus> {
  const sock = reachableSocketPath(path.join(vmDir, 'vcap', 'monit', 'monit.sock'), aliasDir);
  const deadline = Date.now() + timeoutMs;
  let r = await monitGet(sock, '/_status2?format=xml', timeoutMs);
  if (r.status === 404) r = await monitGet(sock, '/_status?format=xml', Math.max(1, deadline - Date.now()));
  if (r.status !== 200) throw new Error(`monit answered HTTP ${r.status}`);
  return parseMonitXml(r.body);
}

/** The agent's `get_state('full')` for one VM, or `unresponsive agent` when its monit is unreachable. */
export async function agentState(vmDir: string, timeoutMs: number, aliasDir: string): Promise<AgentState> {
  let st: MonitStatus;
  try {
    st = await readMonit(vmDir, timeoutMs, aliasDir);
  } catch {
    return { job_state: 'unresponsive agent', processes: [], vitals: null };
  }
  const processes = toAgentProcesses(st);
  const stopped = fs.existsSync(path.join(vmDir, 'vcap', 'monit', 'stopped'));
  return { job_state: stopped ? 'stopped' : aggregateJobState(processes), processes, vitals: toVitals(st, vmDir) };
}
