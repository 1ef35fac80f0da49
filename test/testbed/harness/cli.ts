// npm run testbed -- up [--masters 3|5] [--fill-mb N] [--quota-mb N] [--etcd 3.4|3.5] [--monit-cycle S] | down |
//                    status | break <instance> --mode <m> | state <instance> <state> | heal [<instance>] [--rebuild]
import {
  breakInstance,
  down,
  FAULT_MODES,
  FaultMode,
  formatStatus,
  heal,
  INSTANCE_STATES,
  InstanceStateName,
  setInstanceState,
  resolveTestbedEtcd,
  status,
  up,
} from './index';
import { resolveLayout } from './layout';

const USAGE = `usage: npm run testbed -- <command>
  up [--masters 3|5] [--fill-mb N] [--quota-mb N] [--etcd 3.4|3.5] [--monit-cycle S]
                                     start a testbed (prints and writes testbed.json); etcd 3.5 by
                                     default (TKGI 1.13+), 3.4 as TKGI 1.8-1.12; monit checks every
                                     10 s like a stemcell unless --monit-cycle says otherwise
                                     --quota-mb sets the etcd job's --quota-backend-bytes
  down                               stop it and remove everything it created
  status                             VMs, monit summary, etcd member list
  break <instance> --mode <mode>     inject a fault; instance: master/<uuid>, <uuid>, master/<index>
        modes: ${FAULT_MODES.join(' | ')}
  state <instance> <state>           what a BOSH command leaves: ${INSTANCE_STATES.join(' | ')}
        (stopped = bosh stop, detached = bosh stop --hard, deleted-vm = bosh delete-vm, ignored = bosh ignore)
  heal [<instance>] [--rebuild]      undo faults and instance states (--rebuild re-creates a wiped/corrupted member by the runbook)
env: BOSH_ETCD_TESTBED_DIR (default <repo>/.testbed), BOSH_ETCD_TESTBED_NET (default 127.0.0),
     BOSH_ETCD_TESTBED_ETCD (3.4 | 3.5, default 3.5), BOSH_ETCD_TESTBED_MONIT_CYCLE (seconds, default 10)`;

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`${name} needs a value.\n${USAGE}`);
  args.splice(i, 2);
  return v;
}

function bool(args: string[], name: string): boolean {
  const i = args.indexOf(name);
  if (i < 0) return false;
  args.splice(i, 1);
  return true;
}

const log = (l: string) => process.stderr.write(`[testbed] ${l}\n`);

async function main(argv: string[]): Promise<number> {
  const args = [...argv];
  const cmd = args.shift();
  switch (cmd) {
    case 'up': {
      const m = flag(args, '--masters');
      const f = flag(args, '--fill-mb');
      const qmb = flag(args, '--quota-mb');
      const etcd = resolveTestbedEtcd(flag(args, '--etcd'));
      const cycle = flag(args, '--monit-cycle');
      const t0 = Date.now();
      if (cycle !== undefined && !/^[1-9]\d*$/.test(cycle))
        throw new Error(`--monit-cycle must be a whole number of seconds (got "${cycle}").`);
      if (m !== undefined && !/^(3|5)$/.test(m)) throw new Error(`--masters must be 3 or 5 (got "${m}").`);
      if (f !== undefined && !/^\d+$/.test(f))
        throw new Error(`--fill-mb must be a whole number of megabytes (got "${f}").`);
      if (qmb !== undefined && !/^[1-9]\d*$/.test(qmb))
        throw new Error(`--quota-mb must be a whole number of megabytes (got "${qmb}").`);
      if (args.length) throw new Error(`Unexpected arguments: ${args.join(' ')}\n${USAGE}`);
      // Ctrl-C during up: tear down what was started instead of leaving half a testbed
      const abort = (sig: NodeJS.Signals) => {
        log(`${sig} during up: tearing down`);
        void down({ log }).finally(() => process.exit(130));
      };
      process.once('SIGINT', abort);
      process.once('SIGTERM', abort);
      const state = await up({
        masters: m ? Number(m) : undefined,
        fillMb: f ? Number(f) : undefined,
        quotaMb: qmb ? Number(qmb) : undefined,
        etcd,
        monitCycleSeconds: cycle ? Number(cycle) : undefined,
        log,
      });
      process.removeListener('SIGINT', abort);
      process.removeListener('SIGTERM', abort);
      const L = resolveLayout();
      process.stdout.write(JSON.stringify(state, null, 2) + '\n');
      log(`up: ${((Date.now() - t0) / 1000).toFixed(2)} s; state in ${L.stateFile}`);
      return 0;
    }
    case 'down': {
      const t0 = Date.now();
      const r = await down({ log });
      log(
        `down: ${((Date.now() - t0) / 1000).toFixed(2)} s (${r.killed} processes stopped${r.removedDir ? ', folder removed' : ''})`,
      );
      return 0;
    }
    case 'status':
      process.stdout.write(formatStatus(await status()) + '\n');
      return 0;
    case 'break': {
      const mode = flag(args, '--mode') as FaultMode | undefined;
      const ref = args.shift();
      if (!ref || !mode) throw new Error(`break needs an instance and --mode.\n${USAGE}`);
      if (!FAULT_MODES.includes(mode))
        throw new Error(`Unknown --mode "${mode}": use one of ${FAULT_MODES.join(', ')}.`);
      const r = await breakInstance(ref, mode);
      process.stdout.write(`${r.vm}: ${r.detail}\n`);
      return 0;
    }
    case 'state': {
      const [ref, st, ...rest] = args;
      if (!ref || !st || rest.length) throw new Error(`state needs an instance and a state.\n${USAGE}`);
      if (!INSTANCE_STATES.includes(st as InstanceStateName))
        throw new Error(`Unknown state "${st}": use one of ${INSTANCE_STATES.join(', ')}.`);
      process.stdout.write((await setInstanceState(ref, st as InstanceStateName)) + '\n');
      return 0;
    }
    case 'heal': {
      const rebuild = bool(args, '--rebuild');
      const ref = args.shift();
      const done = await heal(ref, { rebuild, log });
      process.stdout.write((done.length ? done.join('\n') : 'nothing to heal') + '\n');
      return 0;
    }
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE + '\n');
      return cmd === undefined ? 2 : 0;
    default:
      throw new Error(`Unknown command "${cmd}".\n${USAGE}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`testbed: ${(e as Error).message}\n`);
    process.exit(1);
  },
);
