// Layering rules, checked by `npm run lint:layers` (part of `npm test`). See docs/architecture.md.
/** @type {import('dependency-cruiser').IConfiguration} */
const CORE = '^src/(util|bosh|ssh|etcd|session|diagnosis|recovery|maintenance|snapshots|disaster)/';
module.exports = {
  forbidden: [
    {
      name: 'core-no-vscode',
      severity: 'error',
      comment: 'The core runs in plain Node (CLI, tests against the testbed): it never imports vscode.',
      from: { path: CORE },
      // `vscode` resolves to its type package (there is no runtime module outside the extension host),
      // also when node_modules is a link to another checkout's (a git worktree): `../main/node_modules/…`.
      to: { path: '^vscode$|(^|/)node_modules/@types/vscode/' },
    },
    {
      name: 'core-no-vscode-layer',
      severity: 'error',
      comment: 'The core never imports the VS Code layer.',
      from: { path: CORE },
      to: { path: '^src/(views|commands|wizard|webviews|ui/vscodeUi|extension)' },
    },
    {
      name: 'panels-and-wizard-not-views',
      severity: 'error',
      comment: "Webviews and the wizard render the core's data; they do not reach into the tree view.",
      from: { path: '^src/(webviews|wizard)/' },
      to: { path: '^src/views/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycles in src.',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(out|dist)/' },
  },
};
