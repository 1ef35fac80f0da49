// Plain OpenSSH into a testbed VM as the static fallback user (vcap), strict host-key checking
// against the testbed's known_hosts: what an operator would type, for tests.
import { spawn } from 'child_process';
import { TestbedState, TestbedVm } from './state';

export interface SshResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function sshArgs(state: TestbedState, vm: TestbedVm): string[] {
  return [
    '-F',
    '/dev/null',
    '-i',
    state.staticSsh.privateKeyPath,
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    `UserKnownHostsFile=${state.staticSsh.knownHostsPath}`,
    '-o',
    'BatchMode=yes',
    '-o',
    'ConnectTimeout=5',
    '-o',
    'LogLevel=ERROR',
    `${state.staticSsh.user}@${vm.ip}`,
  ];
}

/** Runs `command` on the VM over ssh (as given: wrap it in `sudo bash -c …` yourself if needed). */
export function ssh(state: TestbedState, vm: TestbedVm, command: string, timeoutMs = 60_000): Promise<SshResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', [...sshArgs(state, vm), command], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`ssh ${vm.ip} "${command}" timed out`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 255, stdout, stderr });
    });
  });
}

/** `sudo bash -c <script>` on the VM, as root; rejects with stderr on a non-zero exit. */
export async function sudo(
  state: TestbedState,
  vm: TestbedVm,
  script: string,
  opts: { allowFail?: boolean } = {},
): Promise<SshResult> {
  const quoted = `'${script.replace(/'/g, `'\\''`)}'`;
  const r = await ssh(state, vm, `sudo bash -c ${quoted}`);
  if (r.code !== 0 && !opts.allowFail)
    throw new Error(`ssh ${vm.ip} sudo "${script}" exited ${r.code}: ${r.stderr || r.stdout}`);
  return r;
}
