#!/usr/bin/env -S node --max-semi-space-size=1
// The `cluster-lab` bin of the package. It is committed, not built, because npm links a bin only
// when its target exists at install time: in a fresh clone `npm ci` runs before the build, and a
// bin pointing into dist/ would never be linked (then `npx cluster-lab` fails with "could not
// determine executable to run"). Plain JavaScript that any Node can parse, so an old Node still
// gets dist/bin.js's own "needs Node.js 22" message.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/bin.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write(
    'error: cluster-lab is not built yet (packages/cli/dist/bin.js is missing)\n' +
      'hint: in the repository, run `bash scripts/setup.sh` (installs and builds everything) or `npm run build`\n',
  );
  process.exit(3);
}
await import(entry.href);
