// The output of a probe command that prints `### <name>` headers, cut into its sections.

/** `### name` header lines → the text under each (lines before the first header are dropped). */
export function probeSections(out: string): Map<string, string> {
  const m = new Map<string, string>();
  let cur: string | null = null;
  let buf: string[] = [];
  for (const line of out.split(/\r?\n/)) {
    const h = /^### (\w+)$/.exec(line);
    if (h) {
      if (cur) m.set(cur, buf.join('\n'));
      cur = h[1];
      buf = [];
    } else if (cur) buf.push(line);
  }
  if (cur) m.set(cur, buf.join('\n'));
  return m;
}

/** A section's lines, trimmed, empty ones dropped. */
export const nonEmptyLines = (s: string | undefined): string[] =>
  (s ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
