// Starts the BOSH Director stand-in as a detached process for the testbed harness (`up`), and
// returns the `director` section of the testbed state. The harness kills `pid` at `down` (SIGTERM:
// the stand-in then removes its temporary SSH users) and may call `cleanupDirectorUsers(dir)`
// afterwards as a safety net.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as https from 'https';
import * as path from 'path';
import type { TestbedState } from '../harness/state';

export { cleanupDirectorUsers } from './ssh-users';

type DirectorSection = TestbedState['director'];

function tail(file: string, lines = 20): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function infoAnswers(url: string, ca: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = https.get(`${url}/info`, { ca, timeout: 2000, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

export async function startDirectorProcess(
  state: Omit<TestbedState, 'director'>,
  opts: { dir: string; host: string; port: number; timeoutMs?: number; env?: NodeJS.ProcessEnv },
): Promise<DirectorSection> {
  fs.mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
  const stateFile = path.join(opts.dir, 'director-state.json');
  const { director: _drop, ...partial } = state as Omit<TestbedState, 'director'> & { director?: unknown };
  fs.writeFileSync(stateFile, JSON.stringify(partial, null, 1) + '\n', { mode: 0o600 });
  const logFile = path.join(opts.dir, 'director.log');
  const log = fs.openSync(logFile, 'a', 0o600);
  const main = path.join(__dirname, 'main.js');
  const child = spawn(
    process.execPath,
    [main, '--state', stateFile, '--host', opts.host, '--port', String(opts.port), '--dir', opts.dir],
    {
      detached: true,
      stdio: ['ignore', log, log, 'ipc'],
      env: opts.env ?? process.env,
    },
  );
  fs.closeSync(log);
  const timeoutMs = opts.timeoutMs ?? 30_000;
  try {
    const section = await new Promise<DirectorSection>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(`Director stand-in did not start within ${timeoutMs} ms; see ${logFile}:\n${tail(logFile)}`),
          ),
        timeoutMs,
      );
      child.once('message', (m: { type?: string; director?: DirectorSection }) => {
        clearTimeout(timer);
        if (m?.type === 'ready' && m.director) resolve(m.director);
        else reject(new Error(`Director stand-in sent an unexpected message; see ${logFile}`));
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(
          new Error(
            `Director stand-in exited during start (${signal ?? `exit ${code}`}) — is ${opts.host}:${opts.port} free? Log ${logFile}:\n${tail(logFile)}`,
          ),
        );
      });
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(new Error(`Could not start the Director stand-in (${process.execPath} ${main}): ${e.message}`));
      });
    });
    // Ready means listening; still prove /info answers over TLS with the CA before handing it out.
    const deadline = Date.now() + 10_000;
    while (!(await infoAnswers(section.url, section.caCert))) {
      if (Date.now() > deadline)
        throw new Error(`Director stand-in at ${section.url} does not answer GET /info; see ${logFile}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    child.removeAllListeners();
    child.disconnect();
    child.unref();
    return section;
  } catch (e) {
    child.removeAllListeners();
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      /* already gone */
    }
    throw e;
  }
}
