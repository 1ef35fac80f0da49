// The Markdown transcript written for every run (real, dry-run, refused): time, step, command,
// output, verdict. Secrets are redacted before anything reaches the file.
// No `vscode` import here.
import * as fs from 'fs';
import * as path from 'path';
import type { RecoveryEvent } from './events';
import { formatPlan } from './plan';

const PEM = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?(-----END \1-----|$)/g;
const OPENSSH_KEY = /-----BEGIN OPENSSH PRIVATE KEY-----[\s\S]*?(-----END OPENSSH PRIVATE KEY-----|$)/g;
const JWT = /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b/g;
const BEARER = /\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi;
const KEYVAL =
  /\b([A-Za-z0-9_-]*(?:password|passwd|secret|token|passphrase|private[_-]?key|api[_-]?key|client[_-]?secret)[A-Za-z0-9_-]*)(\s*[=:]\s*|"\s*:\s*"|\s+)("?)([^\s"',;]+)/gi;
const FLAG = /(--(?:password|client-secret|token|passphrase|key-data)[= ])(\S+)/gi;

/** Removes PEM blocks (certificates and keys), tokens, passwords and secrets from text. */
export function redact(text: string): string {
  return text
    .replace(OPENSSH_KEY, '[REDACTED OPENSSH PRIVATE KEY]')
    .replace(PEM, (_m, kind: string) => `[REDACTED ${kind}]`)
    .replace(JWT, '[REDACTED TOKEN]')
    .replace(BEARER, (_m, kind: string) => `${kind} [REDACTED]`)
    .replace(FLAG, (_m, flag: string) => `${flag}[REDACTED]`)
    .replace(KEYVAL, (m, key: string, sep: string, q: string, value: string) => {
      // keep file paths such as --key /var/vcap/jobs/etcd/config/etcdctl.key: they are not secrets
      if (value.startsWith('/') || value === '[REDACTED]' || value.startsWith('[REDACTED')) return m;
      // etcd's --initial-cluster-token names the cluster (src/disaster/restoreCommands.ts): not a secret
      if (key.toLowerCase() === 'initial-cluster-token') return m;
      return `${key}${sep}${q}[REDACTED]`;
    });
}

function fence(text: string): string {
  const t = redact(text).replace(/\r/g, '');
  const ticks = t.includes('```') ? '~~~~' : '```';
  return `${ticks}\n${t.endsWith('\n') ? t : t + '\n'}${ticks}\n`;
}

/** Collects events and writes the Markdown file; `write()` can be called repeatedly (the file is rewritten). */
export class Transcript {
  readonly path: string;
  private readonly parts: string[] = [];
  private flushed = 0;
  private readonly pending = new Map<string, { stdout: string; stderr: string }>();

  constructor(
    dir: string,
    title: { deployment: string; target: string; dryRun: boolean; started: Date; heading?: string; prefix?: string },
  ) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const stamp = title.started
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.[0-9]+/, '');
    const safeTarget = title.target.replace(/[^A-Za-z0-9-]+/g, '_');
    let p = path.join(dir, `${title.prefix ?? 'recovery'}-${stamp}-${safeTarget}${title.dryRun ? '-dry-run' : ''}.md`);
    for (let i = 2; fs.existsSync(p); i++) p = p.replace(/(-\d+)?\.md$/, `-${i}.md`);
    this.path = p;
    this.parts.push(
      `# ${title.heading ?? 'etcd member recovery'}${title.dryRun ? ' (dry-run)' : ''}: ${redact(title.target)}\n\n`,
    );
    this.parts.push(
      `- Deployment: \`${redact(title.deployment)}\`\n- Target: \`${redact(title.target)}\`\n- Started: ${title.started.toISOString()}\n- Mode: ${title.dryRun ? 'dry-run (no changes)' : 'recovery'}\n\n`,
    );
  }

  private key(step: string, host: string) {
    return `${step}\u0000${host}`;
  }

  record(e: RecoveryEvent<string>): void {
    switch (e.type) {
      case 'observed':
        this.parts.push(`## Observation (${e.time})\n\n${e.summary.map((s) => `- ${redact(s)}`).join('\n')}\n\n`);
        break;
      case 'plan':
        this.parts.push(`## Plan\n\n${fence(formatPlan(e.plan))}\n`);
        break;
      case 'refused':
        this.parts.push(
          `## Refused (${e.time})\n\n${e.refusals.map((r) => `- **${r.code}**: ${redact(r.message)}\n  - What to do: ${redact(r.advice)}`).join('\n')}\n\n`,
        );
        break;
      case 'step-start':
        this.parts.push(
          `## Step ${e.number}/${e.total}: ${e.title} (${e.time})${e.alreadyDone ? ' — already done' : ''}\n\n`,
        );
        break;
      case 'command':
        if (e.skipped)
          this.parts.push(`- ${e.time} \`${e.host}\` skipped (${redact(e.skipped)}):\n\n${fence('$ ' + e.command)}\n`);
        else {
          this.parts.push(`- ${e.time} on \`${e.host}\`:\n\n${fence('$ ' + e.command)}\n`);
          this.pending.set(this.key(e.step, e.host), { stdout: '', stderr: '' });
        }
        break;
      case 'output': {
        const k = this.key(e.step, e.host);
        const p = this.pending.get(k) ?? { stdout: '', stderr: '' };
        p[e.stream] += e.text;
        this.pending.set(k, p);
        break;
      }
      case 'command-done': {
        const k = this.key(e.step, e.host);
        const p = this.pending.get(k);
        this.pending.delete(k);
        if (p?.stdout) this.parts.push(`  Output:\n\n${fence(p.stdout)}\n`);
        if (p?.stderr) this.parts.push(`  Errors:\n\n${fence(p.stderr)}\n`);
        this.parts.push(
          `  Exit: ${e.exitCode ?? 'none'}${e.signal ? ` (signal ${e.signal})` : ''}, ${e.durationMs} ms\n\n`,
        );
        break;
      }
      case 'check':
        this.parts.push(`- ${e.time} check ${e.ok ? '✅' : '❌'} **${redact(e.name)}**: ${redact(e.detail)}\n`);
        break;
      case 'info':
        this.parts.push(`- ${e.time} ${redact(e.message)}\n`);
        break;
      case 'step-done':
        this.parts.push(
          `\n**Verdict:** step ${e.number} ${e.skipped ? 'already done, skipped' : 'done'}${e.detail ? ` — ${redact(e.detail)}` : ''}\n\n`,
        );
        break;
      case 'step-failed':
        this.parts.push(
          `\n**Verdict:** step ${e.number} FAILED — ${redact(e.error)}\n\nWhat to do: ${redact(e.advice)}\n\n`,
        );
        break;
      case 'cancelled':
        this.parts.push(`\n**Cancelled** (${e.time}): ${redact(e.message)}\n\n`);
        break;
      case 'done':
        this.parts.push(`## Result: ${e.outcome} (${e.time})\n\n${redact(e.message)}\n`);
        break;
    }
  }

  /** Appends what was recorded since the last flush and syncs it to disk (a killed run leaves its record). */
  flush(): string {
    const fresh = this.parts.slice(this.flushed).join('');
    this.flushed = this.parts.length;
    const fd = fs.openSync(this.path, 'a', 0o600);
    try {
      fs.writeSync(fd, fresh);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    return this.path;
  }

  write(): string {
    this.flushed = this.parts.length;
    fs.writeFileSync(this.path, this.parts.join(''), { mode: 0o600 });
    return this.path;
  }
}
