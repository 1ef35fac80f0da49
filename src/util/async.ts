// Small async helpers shared by the core and the VS Code layer (no `vscode` import here).

/**
 * Waits ms milliseconds. With a signal, an abort ends the wait early: the promise rejects with the
 * signal's reason (callers that only want to stop waiting catch it).
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Like sleep, but an abort resolves (the caller checks the signal itself). */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return sleep(ms, signal).catch(() => undefined);
}

/**
 * Rejects after ms unless p settles first (p itself keeps running: cancel it separately).
 * onTimeout is the error's message, or a function building the error. ms <= 0 means no limit.
 */
export function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: string | (() => Error)): Promise<T> {
  if (!(ms > 0)) return p;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          typeof onTimeout === 'string'
            ? new Error(`${onTimeout} timed out after ${Math.round(ms / 1000)} s`)
            : onTimeout(),
        ),
      ms,
    );
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
