// The boot flow's canonical home is @cluster-lab/node; re-exported for scripts that import it from the CLI package.
export * from '@cluster-lab/node';
export { CLI_NODE_FLAGS, cliArgv, cliBinPath } from './lab/run-in-nodes.js';
export type { LiveStream } from './output/live-line.js';
export * from './output/output.js';
export { buildProgram, main } from './program.js';
export { VERSION } from './version.js';
