import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readOwnPid, stopOwnDaemon } from './own-pid.js';

describe('readOwnPid / stopOwnDaemon', () => {
  let dir: string;
  let pidFile: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cl-dhcp-pid-'));
    pidFile = join(dir, 'x.pid');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('returns a live pid whose command line carries the marker', async () => {
    const cmdline = (await readFile(`/proc/${process.pid}/cmdline`, 'utf8')).split('\0')[0] as string;
    await writeFile(pidFile, `${process.pid}\n`);
    expect(await readOwnPid(pidFile, cmdline)).toBe(process.pid);
  });

  it('treats a reused pid (another program) as stale: removes the pid file and signals nothing', async () => {
    await writeFile(pidFile, `${process.pid}\n`);
    expect(await readOwnPid(pidFile, '/var/lib/cluster-lab/dhcp/dnsmasq.conf')).toBeUndefined();
    await expect(access(pidFile)).rejects.toThrow();
    await writeFile(pidFile, `${process.pid}\n`);
    // Our own test process is alive and would be killed if the marker were ignored.
    expect(await stopOwnDaemon(pidFile, '/var/lib/cluster-lab/dhcp/dnsmasq.conf')).toBe(false);
    await expect(access(pidFile)).rejects.toThrow();
  });

  it('is fine with an absent pid file, twice', async () => {
    expect(await readOwnPid(pidFile, 'x')).toBeUndefined();
    expect(await stopOwnDaemon(pidFile, 'x')).toBe(false);
    expect(await stopOwnDaemon(pidFile, 'x')).toBe(false);
  });
});
