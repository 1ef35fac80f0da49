// The BOSH Director API client: HTTPS verified against the configured CA (never unverified), one
// network path (direct or a Dialer through the jump host), basic or UAA auth as /info says, task
// following, typed errors that tell the operator what to check. Behaviour follows the bosh CLI.
// Plain Node, no `vscode`.
export { createDirectorClient, type DirectorClientOptions } from './client';
export type { DirectorTokens } from './auth';
