// Refresh the whole BOSH tree (drops every cached answer).
import type { CommandDef } from './container';

export const refreshCommand: CommandDef = {
  id: 'boshEtcd.refresh',
  run(c) {
    c.model.refresh();
  },
};
