/**
 * Does my switch carry the cluster link? The original README's manual two-machine VLAN ping
 * test, automated for any backend — the same code as `cluster-lab probe`, from
 * `@cluster-lab/node`. Run it on two machines before (or instead of) `cluster-lab start`, with
 * the same config:
 *
 *   machine A:  node examples/probe-cluster-link.ts --listen      # waits; Ctrl-C to end
 *   machine B:  node examples/probe-cluster-link.ts               # pings A over the cluster link
 *
 * Both build the cluster link from the config (e.g. `eth0.200` for the default `vlan` backend),
 * put a temporary address from 198.18.200.0/24 (reserved for network tests) on it, and remove
 * both again at the end — a link that `cluster-lab start` already created is left in place.
 * Exit code 0 when the peer answered, 1 when not (with a hint for the backend in use).
 *
 * Options: --config <file>, --backend vlan|native|vxlan (try another backend without editing
 * the config), --listen.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '@cluster-lab/core';
import { listenOnClusterLink, nodeFacts, probeClusterLink } from '@cluster-lab/node';

const { values } = parseArgs({
  options: {
    config: { type: 'string' },
    backend: { type: 'string' },
    listen: { type: 'boolean', default: false },
  },
});

const { config } = await loadConfig({
  env: process.env,
  ...(values.config ? { file: values.config } : {}),
  ...(values.backend ? { overrides: { network: { backend: values.backend } } } : {}),
});
const node = nodeFacts(config);

if (values.listen) {
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  await listenOnClusterLink(node, {
    signal: stop.signal,
    onListening: ({ address, link, backend }) =>
      console.log(`listening: ${address} on ${link} (${backend}); run the probe on the other machine, Ctrl-C here when done`),
  });
} else {
  const result = await probeClusterLink(node);
  console.log(`${result.reachable ? 'PASS' : 'FAIL'} ${result.detail}`);
  if (result.hint) console.log(`hint: ${result.hint}`);
  process.exitCode = result.reachable ? 0 : 1;
}
