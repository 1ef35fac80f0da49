/** Two etcd URLs name the same endpoint: equal up to case and trailing slashes. */
export function sameUrl(a: string, b: string): boolean {
  return a.replace(/\/+$/, '').toLowerCase() === b.replace(/\/+$/, '').toLowerCase();
}
