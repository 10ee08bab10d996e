/**
 * Does my switch carry the cluster link? The original README's manual two-machine VLAN ping
 * test, automated with `@cluster-lab/vlan`'s probe, for any backend. Run it on two machines
 * before (or instead of) `cluster-lab start`, with the same config:
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
import { ExecaRunner, IpRoute2, loadConfig } from '@cluster-lab/core';
import { addProbeAddress, createBackend, DEFAULT_PROBE_ADDRESSES, probeLink } from '@cluster-lab/vlan';

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
const runner = new ExecaRunner();
const network = new IpRoute2(runner);
const backend = createBackend(config, { network, runner });

const ensured = await backend.ensure();
const link = ensured.link.name;
try {
  if (values.listen) {
    await using probe = await addProbeAddress({ network, link }, DEFAULT_PROBE_ADDRESSES.listen);
    console.log(`listening: ${probe.address} on ${link} (${backend.kind}); run the probe on the other machine, Ctrl-C here when done`);
    await new Promise<void>((resolve) => {
      // Signal listeners alone do not keep Node's event loop alive.
      const keepAlive = setInterval(() => {}, 60_000);
      const done = () => {
        clearInterval(keepAlive);
        resolve();
      };
      process.once('SIGINT', done);
      process.once('SIGTERM', done);
    });
  } else {
    const listenAddress = DEFAULT_PROBE_ADDRESSES.listen.split('/')[0] as string;
    const result = await probeLink({ local: { network, runner, link }, peer: { address: listenAddress }, backend });
    console.log(`${result.reachable ? 'PASS' : 'FAIL'} ${result.detail}`);
    if (result.hint) console.log(`hint: ${result.hint}`);
    process.exitCode = result.reachable ? 0 : 1;
  }
} finally {
  // Only what this run did: a link that already existed (cluster-lab is running) stays.
  await backend.teardown({ created: ensured.created, broughtUp: ensured.broughtUp });
}
