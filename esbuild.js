// Bundles the extension (and the headless CLI) with esbuild.
//   node esbuild.js               development: source maps, not minified
//   node esbuild.js --production  minified, no source maps (what `npm run package` ships)
//   node esbuild.js --watch
// ssh2's optional native parts (cpu-features, sshcrypto.node) stay external: ssh2 falls back to
// pure JS when they are missing, and a native build would not match Electron's ABI anyway.
// etcd3 loads `${__dirname}/../proto/*.proto` at run time, so the .proto files are copied to
// `proto/` beside `dist/`.
const esbuild = require('esbuild');
const fs = require('fs');
const path = require('path');

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

function copyProtos() {
  const from = path.join(__dirname, 'node_modules', 'etcd3', 'proto');
  const to = path.join(__dirname, 'proto');
  fs.mkdirSync(to, { recursive: true });
  for (const f of fs.readdirSync(from)) if (f.endsWith('.proto')) fs.copyFileSync(path.join(from, f), path.join(to, f));
}

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minify: production,
  sourcemap: !production,
  sourcesContent: false,
  logLevel: 'warning',
  external: ['vscode', 'cpu-features', '*.node'],
};

async function main() {
  // A production build starts from an empty dist/, so no development source maps end up in the .vsix.
  if (production) fs.rmSync(path.join(__dirname, 'dist'), { recursive: true, force: true });
  copyProtos();
  const builds = [
    { ...common, entryPoints: ['src/extension.ts'], outfile: 'dist/extension.js' },
    { ...common, entryPoints: ['src/cli.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } },
  ];
  // Webview scripts run in the browser side of the webview.
  if (fs.existsSync('src/webviews/health/panel.ts')) {
    builds.push({
      ...common,
      platform: 'browser',
      target: 'es2022',
      format: 'iife',
      external: [],
      entryPoints: ['src/webviews/health/panel.ts'],
      outfile: 'dist/webviews/health.js',
    });
  }
  if (watch) {
    for (const b of builds) await (await esbuild.context(b)).watch();
    return;
  }
  await Promise.all(builds.map((b) => esbuild.build(b)));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
