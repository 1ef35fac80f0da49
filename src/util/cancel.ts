/**
 * The operator cancelled (a prompt, the wizard, Ctrl-C, an abort signal). Not an error to report:
 * every layer lets it through and the VS Code layer shows nothing for it.
 */
export class CancelledError extends Error {
  constructor(message = 'Cancelled by the operator') {
    super(message);
    this.name = 'CancelledError';
  }
}

export function isCancelled(e: unknown): e is CancelledError {
  return e instanceof CancelledError;
}
