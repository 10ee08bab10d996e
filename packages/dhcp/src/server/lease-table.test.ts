import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemoryClusterStore } from '@cluster-lab/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseLeaseFile } from './lease-file.js';
import { LEASE_TABLE_KEY, type LeaseTable, parseLeaseTable, restoreLeaseFile, syncLeaseTable } from './lease-table.js';

const NOW = 1_800_000_000_000; // epoch ms
const now = () => NOW;
const later = NOW / 1000 + 3600;

describe('lease table replication', () => {
  let dir: string;
  let leaseFile: string;
  let hostsFile: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cl-lease-table-'));
    leaseFile = join(dir, 'dnsmasq.leases');
    hostsFile = join(dir, 'dnsmasq.hosts');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function table(store: InMemoryClusterStore): Promise<LeaseTable> {
    const stored = await store.get(LEASE_TABLE_KEY);
    return parseLeaseTable(stored?.value ?? '') as LeaseTable;
  }

  it('mirrors live leases and the reservations into the store, and writes nothing when unchanged', async () => {
    await writeFile(
      leaseFile,
      [
        `${later} 02:00:00:00:00:02 192.168.200.102 node2 01:02:00:00:00:00:02`,
        `${NOW / 1000 - 10} 02:00:00:00:00:09 192.168.200.109 gone *`,
        '0 02:00:00:00:00:03 192.168.200.103 * *',
        '',
      ].join('\n'),
    );
    await writeFile(hostsFile, '02:00:00:00:00:01,192.168.200.101,node1\n');
    const store = new InMemoryClusterStore();
    expect(await syncLeaseTable(store, leaseFile, { now })).toEqual({ written: true, leases: 2, reservations: 1 });
    const t = await table(store);
    expect(t.leases).toEqual([
      { mac: '02:00:00:00:00:02', ip: '192.168.200.102', hostname: 'node2', clientId: '01:02:00:00:00:00:02', expires: later },
      { mac: '02:00:00:00:00:03', ip: '192.168.200.103', expires: 0 },
    ]);
    expect(t.reservations).toEqual([{ mac: '02:00:00:00:00:01', ip: '192.168.200.101', hostname: 'node1' }]);
    const index = (await store.get(LEASE_TABLE_KEY))?.index;
    expect(await syncLeaseTable(store, leaseFile, { now })).toMatchObject({ written: false });
    expect((await store.get(LEASE_TABLE_KEY))?.index).toBe(index);
  });

  it('keeps reservations another node put in the table', async () => {
    const store = new InMemoryClusterStore();
    await store.put(
      LEASE_TABLE_KEY,
      JSON.stringify({ version: 1, updatedAt: '', leases: [], reservations: [{ mac: '02:00:00:00:00:07', ip: '192.168.200.107' }] }),
    );
    await writeFile(leaseFile, `${later} 02:00:00:00:00:02 192.168.200.102 node2 *\n`);
    await syncLeaseTable(store, leaseFile, { now });
    expect((await table(store)).reservations).toEqual([{ mac: '02:00:00:00:00:07', ip: '192.168.200.107' }]);
  });

  it('merges the leases of a writer that got in between (compare-and-set lost), keeping the longer lease per address', async () => {
    const store = new InMemoryClusterStore();
    await writeFile(leaseFile, `${later} 02:00:00:00:00:02 192.168.200.102 node2 *\n`);
    // Another DHCP server writes right after our read, once.
    const real = store.get.bind(store);
    let interfered = false;
    store.get = async (key: string) => {
      const value = await real(key);
      if (!interfered) {
        interfered = true;
        await store.put(
          LEASE_TABLE_KEY,
          JSON.stringify({
            version: 1,
            updatedAt: '',
            leases: [
              { mac: '02:00:00:00:00:05', ip: '192.168.200.105', expires: later },
              { mac: '02:00:00:00:00:06', ip: '192.168.200.102', expires: later - 60 },
            ],
            reservations: [],
          }),
        );
      }
      return value;
    };
    expect(await syncLeaseTable(store, leaseFile, { now })).toMatchObject({ written: true, leases: 2 });
    expect((await table(store)).leases.map((l) => `${l.ip} ${l.mac}`)).toEqual([
      '192.168.200.102 02:00:00:00:00:02',
      '192.168.200.105 02:00:00:00:00:05',
    ]);
  });

  it('restores the table into the lease file (longer lease per address wins) and hands back the reservations', async () => {
    const store = new InMemoryClusterStore();
    await store.put(
      LEASE_TABLE_KEY,
      JSON.stringify({
        version: 1,
        updatedAt: '',
        leases: [
          { mac: '02:00:00:00:00:02', ip: '192.168.200.102', hostname: 'node2', expires: later },
          { mac: '02:00:00:00:00:04', ip: '192.168.200.104', expires: NOW / 1000 - 5 },
          { mac: '02:00:00:00:00:03', ip: '192.168.200.103', expires: later - 100 },
        ],
        reservations: [{ mac: '02:00:00:00:00:01', ip: '192.168.200.101', hostname: 'node1' }],
      }),
    );
    // The local file knows .103 with a later expiry (it is newer than the table for that lease).
    await writeFile(leaseFile, `${later} 02:00:00:00:00:03 192.168.200.103 node3 *\n`);
    const result = await restoreLeaseFile(store, leaseFile, { now });
    expect(result).toEqual({
      restored: 1,
      found: true,
      reservations: [{ mac: '02:00:00:00:00:01', ip: '192.168.200.101', hostname: 'node1' }],
    });
    const leases = parseLeaseFile(await readFile(leaseFile, 'utf8'));
    expect(leases.map((l) => `${l.ip} ${l.mac} ${l.hostname ?? '*'} ${(l.expiresAt?.getTime() ?? 0) / 1000}`)).toEqual([
      `192.168.200.102 02:00:00:00:00:02 node2 ${later}`,
      `192.168.200.103 02:00:00:00:00:03 node3 ${later}`,
    ]);
  });

  it('leaves the lease file alone when the store holds no table, and ignores a damaged one', async () => {
    const store = new InMemoryClusterStore();
    await writeFile(leaseFile, `${later} 02:00:00:00:00:03 192.168.200.103 node3 *\n`);
    expect(await restoreLeaseFile(store, leaseFile, { now })).toEqual({ restored: 0, reservations: [], found: false });
    await store.put(LEASE_TABLE_KEY, '{not json');
    expect(await restoreLeaseFile(store, leaseFile, { now })).toMatchObject({ found: false });
    expect(await readFile(leaseFile, 'utf8')).toBe(`${later} 02:00:00:00:00:03 192.168.200.103 node3 *\n`);
  });
});
