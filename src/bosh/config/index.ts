// Finds the Director settings the way the bosh CLI does, and turns the extension's
// `boshEtcd.environments` entries into the same EnvironmentConfig:
//   directorUrl.ts    Director URLs (`bosh -e` forms → https://host:port)
//   boshCliConfig.ts  ~/.bosh/config (or BOSH_CONFIG): entries, lookup by URL or alias, token write-back
//   environment.ts    BOSH_ENVIRONMENT, BOSH_CA_CERT, BOSH_CLIENT / BOSH_CLIENT_SECRET
//   gateway.ts        the jump host: BOSH_ALL_PROXY or BOSH_GW_HOST / USER / PRIVATE_KEY
//   settings.ts       entries of the boshEtcd.environments setting
//   common.ts         injectable env / fs / home, config errors, `~`, CA certificates
// Plain Node, no `vscode`.
export { expandHome, readCaCert, type ConfigFs, type ResolveOptions } from './common';
export { DEFAULT_DIRECTOR_PORT, formatUrl, normalizeDirectorUrl, parseDirectorUrl } from './directorUrl';
export {
  boshConfigPath,
  findConfigEntry,
  listBoshConfigEnvironments,
  readBoshConfig,
  saveTokens,
  tokenSaverFor,
  type BoshConfigEntry,
  type StoredTokens,
} from './boshCliConfig';
export { requireEnvironment, resolveFromEnvironment } from './environment';
export { parseAllProxy, resolveGatewayFromEnv } from './gateway';
export { fromSettings, type SettingsEnvironmentEntry, type SettingsSecrets } from './settings';
