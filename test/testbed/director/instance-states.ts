// The Director-side state of instances that the operator changed with BOSH commands, shared by the
// testbed harness (which sets it, and makes the VM match) and the Director stand-in (which serves
// it). A real Director keeps this in its database; here it is one small JSON file in the stand-in's
// folder, read on every request, so the harness and the stand-in process need no other channel.
//
//   stopped     `bosh stop`: instance state `stopped`, VM kept; the agent stops the jobs (monit
//               unmonitors them, the agent's `stopped` file makes job_state `stopped`).
//   detached    `bosh stop --hard`: instance state `detached`, VM deleted (persistent disk kept),
//               so no vm_cid, agent, IPs or job state, and `expects_vm` false.
//   deleted-vm  `bosh delete-vm <cid>`: instance state still `started`, VM gone; `expects_vm` true,
//               so the Director (and the resurrector, if on) will want it back.
//   ignored     `bosh ignore`: `ignore: true`, everything else as usual.
//   normal      none of these (`bosh start`, `bosh recreate`, `bosh unignore`).
import * as fs from 'fs';
import * as path from 'path';

export type InstanceStateName = 'normal' | 'stopped' | 'detached' | 'deleted-vm' | 'ignored';
export const INSTANCE_STATES: InstanceStateName[] = ['normal', 'stopped', 'detached', 'deleted-vm', 'ignored'];

export interface InstanceOverride {
  state: InstanceStateName;
  /** A VM created again after `detached`/`deleted-vm` has a new CID, agent id and creation time. */
  vm?: { cid: string; agentId: string; createdAt: string };
}

/** Instance UUID → override; instances not listed are `normal` with their original VM. */
export type InstanceOverrides = Record<string, InstanceOverride>;

export const instanceStatesFile = (directorDir: string) => path.join(directorDir, 'instance-states.json');

export function readInstanceStates(directorDir: string): InstanceOverrides {
  let text: string;
  try {
    text = fs.readFileSync(instanceStatesFile(directorDir), 'utf8');
  } catch {
    return {};
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as InstanceOverrides) : {};
  } catch {
    return {};
  }
}

/** Written to a temporary file and renamed, so that the stand-in never reads half a file. */
export function writeInstanceStates(directorDir: string, overrides: InstanceOverrides): void {
  fs.mkdirSync(directorDir, { recursive: true, mode: 0o700 });
  const file = instanceStatesFile(directorDir);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(overrides, null, 2) + '\n', { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** Sets one instance's override (a `normal` one without a new VM is removed). */
export function setInstanceOverride(directorDir: string, instanceId: string, override: InstanceOverride): void {
  const all = readInstanceStates(directorDir);
  if (override.state === 'normal' && !override.vm) delete all[instanceId];
  else all[instanceId] = override;
  writeInstanceStates(directorDir, all);
}
