// The tree model's loads (treeModel.ts): one promise per key shared by every caller, bounded by a
// timeout, a failure forgotten so the next expand or refresh retries, and dropped by key prefix
// when a node is refreshed. No `vscode` import here.
import { withTimeout } from '../util/async';

interface CacheEntry<T> {
  promise: Promise<T>;
  value?: T;
  failed?: boolean;
  at: number;
}

export class LoadCache {
  private readonly cache = new Map<string, CacheEntry<unknown>>();

  constructor(private readonly timeoutMs: number) {}

  load<T>(key: string, what: string, loader: () => Promise<T>, onFresh?: () => void): Promise<T> {
    const hit = this.cache.get(key) as CacheEntry<T> | undefined;
    if (hit) return hit.promise;
    const entry: CacheEntry<T> = { promise: undefined as unknown as Promise<T>, at: Date.now() };
    entry.promise = withTimeout(loader(), this.timeoutMs, what).then(
      (v) => {
        entry.value = v;
        onFresh?.();
        return v;
      },
      (e) => {
        entry.failed = true;
        // Forget failures so the next expand / refresh retries.
        if (this.cache.get(key) === entry) this.cache.delete(key);
        onFresh?.();
        throw e;
      },
    );
    this.cache.set(key, entry as CacheEntry<unknown>);
    return entry.promise;
  }

  /** The value of a finished load (undefined while loading, after a failure, or never loaded). */
  value<T>(key: string): T | undefined {
    return this.cache.get(key)?.value as T | undefined;
  }

  clear(): void {
    this.cache.clear();
  }

  /** Drops the key and every key under it (`prefix/…`). */
  dropPrefix(prefix: string): void {
    for (const k of [...this.cache.keys()]) if (k === prefix || k.startsWith(`${prefix}/`)) this.cache.delete(k);
  }
}
