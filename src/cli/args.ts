// Command-line arguments of `bosh-etcd recover` and `bosh-etcd status` (snapshot, defrag and
// recover-nospace parse their own in snapshot.ts and maintenance.ts). No `vscode` import here.

export interface Args {
  cmd: string;
  deployment?: string;
  /** --instance, in the order given, without repeats. */
  instances: string[];
  allBroken: boolean;
  breakLock: boolean;
  dryRun: boolean;
  yes: boolean;
  learner: boolean;
  transcriptDir?: string;
  downloadSnapshot?: string;
  knownHosts?: string;
  json: boolean;
  noProbe: boolean;
  help: boolean;
}

export class UsageError extends Error {}

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
  const rest = argv.flatMap((x) =>
    x.startsWith('--') && x.indexOf('=') > 0 ? [x.slice(0, x.indexOf('=')), x.slice(x.indexOf('=') + 1)] : [x],
  );
  const value = (name: string) => {
    const v = rest.shift();
    if (v === undefined || v.startsWith('--')) throw new UsageError(`${name} needs a value`);
    return v;
  };
  while (rest.length) {
    const x = rest.shift()!;
    switch (x) {
      case '--deployment':
      case '-d':
        a.deployment = value(x);
        break;
      case '--instance':
      case '-i': {
        const v = value(x);
        if (!a.instances.includes(v)) a.instances.push(v);
        break;
      }
      case '--all-broken':
        a.allBroken = true;
        break;
      case '--break-lock':
        a.breakLock = true;
        break;
      case '--dry-run':
        a.dryRun = true;
        break;
      case '--yes':
      case '-y':
        a.yes = true;
        break;
      case '--learner':
        a.learner = true;
        break;
      case '--transcript-dir':
        a.transcriptDir = value(x);
        break;
      case '--download-snapshot':
        a.downloadSnapshot = value(x);
        break;
      case '--known-hosts':
        a.knownHosts = value(x);
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
  }
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
