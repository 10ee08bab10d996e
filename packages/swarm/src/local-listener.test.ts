import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { localListener } from './local-listener.js';

let server: Server | undefined;
afterEach(() => {
  server?.close();
  server = undefined;
});

const listen = (): Promise<number> =>
  new Promise((resolve) => {
    const s = createServer((socket) => socket.destroy());
    server = s.listen(0, '127.0.0.1', () => resolve((s.address() as { port: number }).port));
  });

describe('localListener', () => {
  it('is true where something listens on one of this host’s addresses, false where the port is closed', async () => {
    const port = await listen();
    expect(await localListener('127.0.0.1', port)).toBe(true);
    server?.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(await localListener('127.0.0.1', port)).toBe(false);
  });

  it('sends nothing to an address that is not this host’s own (undefined)', async () => {
    // TEST-NET-1 (RFC 5737): never configured on a host; the function returns before connecting.
    expect(await localListener('192.0.2.1', 2377)).toBeUndefined();
  });
});
