// The `bosh-etcd` entry point (package.json bin → dist/cli.js, bundled from this file by esbuild.js).
// The commands live in src/cli/ (main.ts dispatches). No `vscode` import here.
import { EXIT } from './cli/exitCodes';
import { main } from './cli/main';

export { main, USAGE } from './cli/main';
export type { CliIo } from './cli/io';
export { EXIT } from './cli/exitCodes';
export { parseArgs } from './cli/args';
export { exitCodeOf } from './cli/recover';
export { statusTable } from './cli/status';

if (require.main === module) {
  main(process.argv.slice(2), {
    out: process.stdout,
    err: process.stderr,
    env: process.env,
    interactive: !!process.stdin.isTTY && !!process.stdout.isTTY,
  }).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`bosh-etcd: ${(e as Error).stack ?? e}\n`);
      process.exit(EXIT.FAILED);
    },
  );
}
