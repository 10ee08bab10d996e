import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';
import type { LabNode } from '@cluster-lab/lab';
import { findConsulBinary } from '../install/consul-install.js';

/**
 * The real `consul` that setup installed (PATH, or the cache of `scripts/get-consul.sh`).
 * Integration tests run real Consul only: without it they fail with the fix, never fall back.
 */
export async function requireRealConsul(): Promise<string> {
  const binary = await findConsulBinary();
  if (!binary) {
    throw new Error(
      "no real `consul` executable: run `sudo bash scripts/setup.sh` (it installs Debian 11's Consul 1.8.7 via scripts/get-consul.sh)",
    );
  }
  return binary;
}

// Runs inside the node's namespaces: a Unix socket in the node's dir (a file, so reachable from
// the host namespace) piped to the agent's HTTP port on the node's loopback.
const FORWARDER = `
const net = require('node:net');
const [sock, port] = process.argv.slice(1);
require('node:fs').rmSync(sock, { force: true });
net.createServer((c) => {
  const up = net.connect(Number(port), '127.0.0.1');
  c.pipe(up).pipe(c);
  up.on('error', () => c.destroy());
  c.on('error', () => up.destroy());
}).listen(sock, () => console.log('ready'));
`;

/** A loopback address in the test's namespace that reaches a port on a lab node's loopback. */
export interface NodePortForward {
  /** `127.0.0.1:<port>` for clients in the test process. */
  address: string;
  close(): Promise<void>;
}

/**
 * Makes a lab node's `127.0.0.1:<port>` (e.g. its Consul agent's HTTP API) reachable from the
 * test process: a forwarder in the node's namespaces listens on a Unix socket in the node's dir,
 * and a loopback listener here pipes to that socket. Traffic stays on loopback and inside the
 * node — nothing is added to the host's network.
 */
export async function forwardNodePort(node: LabNode, port: number): Promise<NodePortForward> {
  const sock = join(node.dir, `forward-${port}.sock`);
  const child = await node.spawn(process.execPath, ['-e', FORWARDER, sock, String(port)], {
    detached: true,
    logFile: join(node.dir, `forward-${port}.log`),
  });
  const deadline = Date.now() + 10_000;
  while (!(await canConnect(sock))) {
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`port forwarder in ${node.name} did not listen on ${sock}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  const server = createServer((c) => {
    const up = createConnection(sock);
    c.pipe(up).pipe(c);
    up.on('error', () => c.destroy());
    c.on('error', () => up.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port: local } = server.address() as { port: number };
  return {
    address: `127.0.0.1:${local}`,
    async close() {
      server.close();
      child.kill('SIGKILL');
      await Promise.race([child.exited, new Promise((r) => setTimeout(r, 2000).unref())]);
    },
  };
}

function canConnect(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}
