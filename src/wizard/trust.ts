// Workspace trust as the flows ask for it. Right after a window loads, the extension host may still
// report the workspace untrusted: VS Code resolves trust in the window and tells the extension host
// afterwards (workspace.onDidGrantWorkspaceTrust). A flow started then (from the tree, a panel
// button, or a command the palette already lists) waits for that message a moment instead of
// refusing a workspace that is trusted. Pure (the VS Code parts are passed in), unit-tested.
import type { Ui } from '../ui/ui';
import { tell } from './runGate';

export interface TrustSource {
  readonly isTrusted: boolean;
  onDidGrant(listener: () => void): { dispose(): void };
}

/** How long a flow waits for trust to be granted before it says the workspace is untrusted. */
export const TRUST_SETTLE_MS = 3000;

/** True at once when trusted; else whether trust is granted within `waitMs`. */
export function settledTrust(source: TrustSource, waitMs = TRUST_SETTLE_MS): Promise<boolean> {
  if (source.isTrusted) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      sub.dispose();
      resolve(source.isTrusted);
    };
    const timer = setTimeout(done, waitMs);
    const sub = source.onDidGrant(done);
  });
}

/**
 * The check every flow starts with: false when it may run; true when the workspace is untrusted,
 * after telling the operator (`subject` is disabled…) without waiting for the message to be closed.
 */
export async function refusedUntrusted(
  deps: { ui: Ui; trusted(): boolean | Promise<boolean> },
  subject: string,
): Promise<boolean> {
  if (await deps.trusted()) return false;
  tell(
    deps.ui,
    'warning',
    `${subject} is disabled in an untrusted workspace: trust this workspace (Manage Workspace Trust) to use it.`,
  );
  return true;
}
