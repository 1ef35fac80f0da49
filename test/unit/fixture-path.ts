// Unit fixtures stay in the source tree (tsc does not copy them to out/): read them from there.
import * as fs from 'fs';
import * as path from 'path';

export const REPO = (() => {
  let d = __dirname;
  while (!fs.existsSync(path.join(d, 'package.json')) && path.dirname(d) !== d) d = path.dirname(d);
  return d;
})();

export function fixture(...p: string[]): string {
  return fs.readFileSync(path.join(REPO, 'test', 'unit', 'fixtures', ...p), 'utf8');
}
