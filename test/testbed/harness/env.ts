// How a bosh CLI user would be configured for this testbed (BOSH_* variables), for the test
// runners and the sandbox.
import { TestbedState } from './state';

export function boshCliEnv(state: TestbedState): Record<string, string> {
  const j = state.jumpHost;
  return {
    BOSH_ENVIRONMENT: state.director.url,
    BOSH_CA_CERT: state.director.caCertPath,
    BOSH_CLIENT: state.director.client,
    BOSH_CLIENT_SECRET: state.director.clientSecret,
    BOSH_ALL_PROXY: `ssh+socks5://${j.user}@${j.host}:${j.port}?private-key=${j.privateKeyPath}`,
    BOSH_DEPLOYMENT: state.deployment,
  };
}
