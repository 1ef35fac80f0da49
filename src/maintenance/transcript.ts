// The Markdown transcript of every maintenance run (real, dry run, refused): time, step, command,
// output, verdict, sizes before/after. Same format as the recovery's (src/recovery/transcript.ts),
// whose `redact` removes secrets before anything reaches the file. No `vscode` import here.
import * as fs from 'fs';
import * as path from 'path';
import { redact } from '../recovery/transcript';
import { formatBytes } from './plan';
import type { MaintenanceEvent } from './types';

function fence(text: string): string {
  const t = redact(text).replace(/\r/g, '');
  const ticks = t.includes('```') ? '~~~~' : '```';
  return `${ticks}\n${t.endsWith('\n') ? t : t + '\n'}${ticks}\n`;
}

export class MaintenanceTranscript {
  readonly path: string;
  private readonly parts: string[] = [];
  private readonly pending = new Map<string, { stdout: string; stderr: string }>();

  constructor(
    dir: string,
    title: { flow: 'defrag' | 'recover-nospace'; deployment: string; dryRun: boolean; started: Date },
  ) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const stamp = title.started
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.[0-9]+/, '');
    const safe = title.deployment.replace(/[^A-Za-z0-9-]+/g, '_');
    let p = path.join(dir, `${title.flow}-${stamp}-${safe}${title.dryRun ? '-dry-run' : ''}.md`);
    for (let i = 2; fs.existsSync(p); i++) p = p.replace(/(-\d+)?\.md$/, `-${i}.md`);
    this.path = p;
    const what = title.flow === 'defrag' ? 'Rolling defragmentation' : 'NOSPACE recovery';
    this.parts.push(`# etcd ${what}${title.dryRun ? ' (dry-run)' : ''}: ${redact(title.deployment)}\n\n`);
    this.parts.push(
      `- Deployment: \`${redact(title.deployment)}\`\n- Started: ${title.started.toISOString()}\n- Mode: ${title.dryRun ? 'dry-run (no changes)' : title.flow}\n\n`,
    );
  }

  record(e: MaintenanceEvent): void {
    switch (e.type) {
      case 'observed':
        this.parts.push(`## Observation (${e.time})\n\n${e.summary.map((s) => `- ${redact(s)}`).join('\n')}\n\n`);
        break;
      case 'plan':
        this.parts.push(`## Plan\n\n${fence(e.lines.join('\n'))}\n`);
        break;
      case 'refused':
        this.parts.push(
          `## Refused (${e.time})\n\n${e.refusals.map((r) => `- **${r.code}**: ${redact(r.message)}\n  - What to do: ${redact(r.advice)}`).join('\n')}\n\n`,
        );
        break;
      case 'step-start':
        this.parts.push(`## ${e.title} (${e.time})\n\n`);
        break;
      case 'command':
        if (e.skipped)
          this.parts.push(`- ${e.time} \`${e.host}\` not run (${redact(e.skipped)}):\n\n${fence('$ ' + e.command)}\n`);
        else {
          this.parts.push(`- ${e.time} on \`${e.host}\`:\n\n${fence('$ ' + e.command)}\n`);
          this.pending.set(e.host, { stdout: '', stderr: '' });
        }
        break;
      case 'output': {
        const p = this.pending.get(e.host) ?? { stdout: '', stderr: '' };
        p[e.stream] += e.text;
        this.pending.set(e.host, p);
        break;
      }
      case 'command-done': {
        const p = this.pending.get(e.host);
        this.pending.delete(e.host);
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
      case 'member-done': {
        const r = e.result;
        const sizes = (s: typeof r.before) =>
          s ? `${formatBytes(s.dbSize)} (${formatBytes(s.dbSizeInUse)} in use)` : '?';
        this.parts.push(
          `\n**${r.label}: ${r.outcome}**${r.reason ? ` — ${redact(r.reason)}` : ''}; before ${sizes(r.before)}, after ${sizes(r.after)}${r.durationMs !== null ? `, ${r.durationMs} ms` : ''}; healthy after: ${e.healthyAfter ? 'yes' : 'NO'}\n\n`,
        );
        break;
      }
      case 'pause':
        this.parts.push(`- ${e.time} pause ${e.ms} ms before ${e.next}\n`);
        break;
      case 'info':
        this.parts.push(`- ${e.time} ${redact(e.message)}\n`);
        break;
      case 'step-done':
        this.parts.push(`\n**Verdict:** done${e.detail ? ` — ${redact(e.detail)}` : ''}\n\n`);
        break;
      case 'step-failed':
        this.parts.push(`\n**Verdict:** FAILED — ${redact(e.error)}\n\nWhat to do: ${redact(e.advice)}\n\n`);
        break;
      case 'cancelled':
        this.parts.push(`\n**Cancelled** (${e.time}): ${redact(e.message)}\n\n`);
        break;
      case 'done':
        this.parts.push(`## Result: ${e.outcome} (${e.time})\n\n${redact(e.message)}\n`);
        break;
    }
  }

  write(): string {
    fs.writeFileSync(this.path, this.parts.join(''), { mode: 0o600 });
    return this.path;
  }
}
