// Command-line arguments: the word reader and the options several commands share (every command's
// parser uses them: restore.ts, restoreQuorum.ts, maintenance.ts, snapshot.ts), and the arguments
// of `bosh-etcd recover` and `bosh-etcd status`. No `vscode` import here.

export class UsageError extends Error {}

/**
 * Reads a command line word by word: `take(word, value)` handles one word and calls `value()` to
 * read the value of the option it names (a UsageError when there is none). `--name=value` equals
 * `--name value`.
 */
export function readWords(argv: string[], take: (word: string, value: () => string) => void): void {
  const rest = argv.flatMap((x) =>
    x.startsWith('--') && x.indexOf('=') > 0 ? [x.slice(0, x.indexOf('=')), x.slice(x.indexOf('=') + 1)] : [x],
  );
  while (rest.length) {
    const word = rest.shift()!;
    take(word, () => {
      const v = rest.shift();
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${word} needs a value`);
      return v;
    });
  }
}

/** The options several commands share. */
export interface CommonOptions {
  deployment?: string;
  yes: boolean;
  dryRun: boolean;
  breakLock: boolean;
  transcriptDir?: string;
  knownHosts?: string;
}

const COMMON_WORDS = new Map<string, keyof CommonOptions>([
  ['--deployment', 'deployment'],
  ['-d', 'deployment'],
  ['--yes', 'yes'],
  ['-y', 'yes'],
  ['--dry-run', 'dryRun'],
  ['--break-lock', 'breakLock'],
  ['--transcript-dir', 'transcriptDir'],
  ['--known-hosts', 'knownHosts'],
]);

/**
 * Sets the shared option `word` names when the command takes it (`accepted`); false when the word is
 * not one of them (the command's own parser goes on).
 */
export function takeCommonOption(
  a: Partial<CommonOptions>,
  word: string,
  value: () => string,
  accepted: readonly (keyof CommonOptions)[],
): boolean {
  const k = COMMON_WORDS.get(word);
  if (!k || !accepted.includes(k)) return false;
  if (k === 'yes' || k === 'dryRun' || k === 'breakLock') a[k] = true;
  else a[k] = value();
  return true;
}

/** The error for a word no option of the command takes. */
export const unexpectedWord = (x: string): UsageError =>
  new UsageError(x.startsWith('-') ? `unknown option ${x}` : `unexpected argument ${x}`);

export interface Args extends CommonOptions {
  cmd: string;
  /** --instance, in the order given, without repeats. */
  instances: string[];
  allBroken: boolean;
  learner: boolean;
  downloadSnapshot?: string;
  json: boolean;
  noProbe: boolean;
  help: boolean;
}

const RECOVER_ONLY = ['instances', 'allBroken', 'breakLock', 'dryRun', 'yes', 'learner'] as const;
const STATUS_ONLY = ['json', 'noProbe'] as const;

/** Parses argv (after the program name); throws UsageError. `--name=value` equals `--name value`. */
export function parseArgs(argv: string[]): Args {
  const a: Args = {
    cmd: '',
    instances: [],
    allBroken: false,
    breakLock: false,
    dryRun: false,
    yes: false,
    learner: false,
    json: false,
    noProbe: false,
    help: false,
  };
  readWords(argv, (x, value) => {
    if (takeCommonOption(a, x, value, ['deployment', 'yes', 'dryRun', 'breakLock', 'transcriptDir', 'knownHosts']))
      return;
    switch (x) {
      case '--instance':
      case '-i': {
        const v = value();
        if (!a.instances.includes(v)) a.instances.push(v);
        break;
      }
      case '--all-broken':
        a.allBroken = true;
        break;
      case '--learner':
        a.learner = true;
        break;
      case '--download-snapshot':
        a.downloadSnapshot = value();
        break;
      case '--json':
        a.json = true;
        break;
      case '--no-probe':
        a.noProbe = true;
        break;
      case '--help':
      case '-h':
        a.help = true;
        break;
      default:
        if (x.startsWith('-')) throw new UsageError(`unknown option ${x}`);
        if (a.cmd) throw new UsageError(`unexpected argument ${x}`);
        a.cmd = x;
    }
  });
  return a;
}

const FLAG_OF: Record<(typeof RECOVER_ONLY)[number] | (typeof STATUS_ONLY)[number], string> = {
  instances: '--instance',
  allBroken: '--all-broken',
  breakLock: '--break-lock',
  dryRun: '--dry-run',
  yes: '--yes',
  learner: '--learner',
  json: '--json',
  noProbe: '--no-probe',
};

const given = (a: Args, k: keyof typeof FLAG_OF) => (k === 'instances' ? a.instances.length > 0 : a[k]);

/** What is wrong with the combination of options for the command (undefined: nothing). */
export function usageProblem(a: Args): string | undefined {
  if (a.cmd === 'status') {
    const wrong = RECOVER_ONLY.filter((k) => given(a, k)).map((k) => FLAG_OF[k]);
    if (a.transcriptDir) wrong.push('--transcript-dir');
    if (a.downloadSnapshot) wrong.push('--download-snapshot');
    return wrong.length ? `${wrong.join(', ')}: not an option of status` : undefined;
  }
  if (a.cmd === 'recover') {
    const wrong = STATUS_ONLY.filter((k) => given(a, k)).map((k) => FLAG_OF[k]);
    if (wrong.length) return `${wrong.join(', ')}: not an option of recover`;
    if (a.allBroken && a.instances.length)
      return '--all-broken and --instance exclude each other: give the instances, or --all-broken for every broken member';
    if (!a.allBroken && !a.instances.length)
      return '--instance master/UUID (several times for several members) or --all-broken is required (bosh -d <deployment> instances shows them)';
  }
  return undefined;
}
