import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';

/**
 * Whether something accepts TCP connections on `ip:port`, where `ip` is one of this host's own
 * addresses: true (a connection was accepted), false (refused: nothing listens there) or
 * undefined (not an address of this host — then nothing is sent — or no clear answer within
 * `timeoutMs`). The connection is closed at once; no byte is written.
 *
 * Why: dockerd restores a manager's swarm identity at boot, before `cluster-lab start` has put the
 * node address on the cluster link. Its Raft then runs without ever binding `<node address>:2377`,
 * so the other managers can never reach it and it stays `pending` however long one waits.
 *
 * @example
 * ```ts
 * if ((await localListener('192.168.200.101', 2377)) === false) console.log('no swarm listener here');
 * ```
 */
export async function localListener(ip: string, port: number, timeoutMs = 1_000): Promise<boolean | undefined> {
  const own = Object.values(networkInterfaces())
    .flat()
    .some((a) => a?.address === ip);
  if (!own) return undefined;
  return new Promise((resolve) => {
    const socket = connect({ host: ip, port });
    const done = (answer: boolean | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code === 'ECONNREFUSED' ? false : undefined));
  });
}
