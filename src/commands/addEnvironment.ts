// Adds a BOSH Director to the boshEtcd.environments setting (user settings); the client secret
// goes to VS Code's Secret Storage, never to settings.
import type { CommandDef } from './container';
import { fromSettings } from '../bosh/config';

export function secretKey(envName: string, what: 'clientSecret' | 'gatewayPassphrase'): string {
  return `boshEtcd.${what}.${envName}`;
}

export const addEnvironmentCommand: CommandDef = {
  id: 'boshEtcd.addEnvironment',
  async run(c) {
    const name = await c.ui.input({
      id: 'name',
      title: 'Add BOSH environment (1/5): display name',
      prompt: 'e.g. the Ops Manager name',
      validate: (v) => (v.trim() ? undefined : 'A name is required'),
    });
    if (!name) return undefined;
    const url = await c.ui.input({
      id: 'url',
      title: 'Add BOSH environment (2/5): Director address',
      prompt: 'Director URL or IP, as `bosh -e` takes it (https, port 25555 by default)',
      validate: (v) => (v.trim() ? undefined : 'The Director address is required'),
    });
    if (!url) return undefined;
    const caCert = await c.ui.input({
      id: 'caCert',
      title: 'Add BOSH environment (3/5): CA certificate file',
      prompt: 'Path to the Director CA (PEM); empty = system roots',
    });
    if (caCert === undefined) return undefined;
    const client = await c.ui.input({
      id: 'client',
      title: 'Add BOSH environment (4/5): UAA client',
      prompt: 'e.g. ops_manager',
    });
    if (client === undefined) return undefined;
    let secret: string | undefined;
    if (client) {
      secret = await c.ui.input({
        id: 'clientSecret',
        title: 'Add BOSH environment (5/5): client secret',
        prompt: 'Kept in VS Code Secret Storage',
        password: true,
      });
      if (secret === undefined) return undefined;
    }
    const entry = { name: name.trim(), url: url.trim(), ...(caCert ? { caCert } : {}), ...(client ? { client } : {}) };
    fromSettings(entry, secret); // validates (throws a message that says what is wrong)
    await c.settings.saveUserEnvironment(entry);
    if (secret !== undefined) await c.context.secrets.store(secretKey(entry.name, 'clientSecret'), secret);
    c.model.refresh();
    return entry.name;
  },
};
