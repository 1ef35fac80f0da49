// Runs the BOSH Director stand-in as its own process, for the testbed harness:
//   node out/test/testbed/director/main.js --state <partial-state.json> --host H --port P --dir D
// Serves until SIGTERM/SIGINT, then removes every temporary SSH user it created and exits 0.
// When started by launch.ts (with an IPC channel), it sends the director section, client secret
// included, over IPC once it listens — so the secret never has to be written to a file by us.
import * as fs from 'fs';
import type { TestbedState } from '../harness/state';
import { startDirector } from './server';
import { cleanupDirectorUsers } from './ssh-users';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** A positive number of seconds from the environment, or undefined (the stand-in's default). */
function seconds(name: string): number | undefined {
  const v = process.env[name];
  if (!v) return undefined;
  const n = Number(v);
  if (!(n > 0)) throw new Error(`${name} must be a positive number of seconds (got "${v}").`);
  return n;
}

async function main(): Promise<void> {
  const stateFile = arg('state');
  const host = arg('host') ?? '127.0.0.1';
  const port = Number(arg('port') ?? '25555');
  const dir = arg('dir');
  if (!stateFile || !dir || !Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write('usage: main.js --state <file> --host <ip> --port <port> --dir <folder>\n');
    process.exit(2);
  }
  const state = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as Omit<TestbedState, 'director'>;
  // A previous instance that was SIGKILLed may have left users behind: remove them first.
  const leftovers = cleanupDirectorUsers(dir);
  if (leftovers.length)
    process.stderr.write(`director stand-in: removed leftover temporary users ${leftovers.join(', ')}\n`);
  const d = await startDirector({
    state,
    host,
    port,
    dir,
    client: process.env.BOSH_ETCD_DIRECTOR_CLIENT || undefined,
    clientSecret: process.env.BOSH_ETCD_DIRECTOR_CLIENT_SECRET || undefined,
    tokenTtlSeconds: seconds('BOSH_ETCD_DIRECTOR_TOKEN_TTL'),
    userTokenTtlSeconds: seconds('BOSH_ETCD_DIRECTOR_USER_TOKEN_TTL'),
    refreshTokenTtlSeconds: seconds('BOSH_ETCD_DIRECTOR_REFRESH_TOKEN_TTL'),
    sudoGroup: process.env.BOSH_ETCD_DIRECTOR_SUDO_GROUP || undefined,
  });
  process.stderr.write(
    `director stand-in: listening on ${d.url} (UAA ${d.uaaUrl}, client ${d.client}), pid ${process.pid}\n`,
  );
  let stopping = false;
  const stop = (sig: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`director stand-in: ${sig}, removing temporary users and stopping\n`);
    const hard = setTimeout(() => {
      cleanupDirectorUsers(dir);
      process.exit(1);
    }, 10_000);
    d.close().then(
      () => {
        clearTimeout(hard);
        process.exit(0);
      },
      (e: Error) => {
        process.stderr.write(`director stand-in: ${e.message}\n`);
        cleanupDirectorUsers(dir);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => undefined);
  if (process.send) {
    process.send({
      type: 'ready',
      director: {
        url: d.url,
        caCertPath: d.caCertPath,
        caCert: d.caCert,
        uaaUrl: d.uaaUrl,
        client: d.client,
        clientSecret: d.clientSecret,
        pid: process.pid,
      },
    });
  }
}

process.on('uncaughtException', (e) => {
  process.stderr.write(`director stand-in: fatal: ${e.stack ?? e.message}\n`);
  const dir = arg('dir');
  if (dir) cleanupDirectorUsers(dir);
  process.exit(1);
});

main().catch((e: Error) => {
  process.stderr.write(`director stand-in: could not start: ${e.message}\n`);
  process.exit(1);
});
