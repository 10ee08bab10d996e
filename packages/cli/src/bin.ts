#!/usr/bin/env -S node --max-semi-space-size=1
// Checked before anything else loads: on an older Node the dependencies fail with cryptic errors.
const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  process.stderr.write(
    `error: cluster-lab needs Node.js 22 or newer, this is ${process.version}\nhint: run scripts/setup.sh (it provisions Node 24 into .tools/) or install Node 22+\n`,
  );
  process.exit(3);
}
const { main } = await import('./program.js');
process.exitCode = await main(process.argv);
