import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skipUnlessRoot } from '@cluster-lab/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli-process.js';

/** What a failed start must leave untouched: links, addresses, routes of the host. */
function hostSnapshot(): string {
  const ip = (...args: string[]) => execFileSync('ip', ['-j', ...args], { encoding: 'utf8' });
  const links = (JSON.parse(ip('link', 'show')) as { ifname: string; operstate: string; flags: string[] }[]).map(
    (l) => `${l.ifname} ${l.flags.join(',')}`,
  );
  const addrs = JSON.parse(ip('addr', 'show')) as { ifname: string; addr_info: { local: string; prefixlen: number }[] }[];
  return JSON.stringify({
    links: links.sort(),
    addrs: addrs.map((a) => `${a.ifname} ${a.addr_info.map((i) => `${i.local}/${i.prefixlen}`).join(' ')}`).sort(),
    routes: ip('route', 'show'),
  });
}

const CASES: { name: string; config: string; field: string; value: string }[] = [
  { name: 'interface with a slash', config: 'interface: "eth0/1"', field: 'interface', value: '"eth0/1"' },
  {
    name: 'interface longer than 15 chars',
    config: 'interface: averyveryverylongname',
    field: 'interface',
    value: 'averyveryverylongname',
  },
  { name: 'VLAN id 0', config: 'network:\n  vlanId: 0', field: 'network.vlanId', value: '0' },
  { name: 'VLAN id 4095', config: 'network:\n  vlanId: 4095', field: 'network.vlanId', value: '4095' },
  { name: 'VLAN id not a number', config: 'network:\n  vlanId: abc', field: 'network.vlanId', value: '"abc"' },
  { name: 'unknown backend', config: 'network:\n  backend: wifi', field: 'network.backend', value: '"wifi"' },
  { name: 'subnet typo', config: 'subnet: 192.168.200/24', field: 'subnet', value: '192.168.200/24' },
  { name: 'leader outside the subnet', config: 'leaderAddress: 10.0.0.1', field: 'leaderAddress', value: '10.0.0.1' },
  {
    name: 'DHCP range containing the leader',
    config: 'dhcp:\n  rangeStart: 192.168.200.1',
    field: 'dhcp.rangeStart',
    value: '192.168.200.1',
  },
  { name: 'DHCP range outside the subnet', config: 'dhcp:\n  rangeEnd: 192.168.201.20', field: 'dhcp.rangeEnd', value: '192.168.201.20' },
  { name: 'lease time 0', config: 'dhcp:\n  leaseTime: 0', field: 'dhcp.leaseTime', value: '0' },
  { name: 'even manager count', config: 'swarm:\n  managers: 2', field: 'swarm.managers', value: '2' },
  { name: 'unknown role', config: 'role: boss', field: 'role', value: '"boss"' },
  { name: 'unknown field', config: 'colour: blue', field: 'colour', value: 'colour' },
  {
    name: 'consul image with an option',
    config: 'consul:\n  image: "consul:1.20 --privileged"',
    field: 'consul.image',
    value: '--privileged',
  },
  { name: 'relative consul binary', config: 'consul:\n  binary: bin/consul', field: 'consul.binary', value: 'bin/consul' },
];

describe.skipIf(skipUnlessRoot())('bad input: exit 2, field named, nothing changed', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cl-bad-'));
    await chmod(dir, 0o755); // the non-root case reads its config as nobody
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each(CASES)('$name', async ({ config, field, value }) => {
    const file = join(dir, 'config.yaml');
    const stateDir = join(dir, 'state');
    await writeFile(file, `${config}\nstateDir: ${stateDir}\n`);
    const before = hostSnapshot();
    const run = await runCli(['start', '--config', file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(field);
    expect(run.stderr).toContain(value);
    expect(run.stderr).toMatch(/hint: /);
    expect(run.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace
    expect(hostSnapshot()).toBe(before);
    await expect(readdir(stateDir)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a missing interface is a config error naming it and the interfaces that exist', async () => {
    const file = join(dir, 'missing-if.yaml');
    const stateDir = join(dir, 'state-missing');
    await writeFile(file, `interface: nosuch0\nnetwork:\n  backend: native\nstateDir: ${stateDir}\n`);
    const before = hostSnapshot();
    const run = await runCli(['start', '--config', file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('nosuch0');
    expect(run.stderr).toMatch(/hint: .*lo|hint: /);
    expect(hostSnapshot()).toBe(before);
    await expect(readdir(stateDir)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a missing cluster secret: start exits 2 with the command that creates it, and changes nothing', async () => {
    const file = join(dir, 'no-secret.yaml');
    const stateDir = join(dir, 'state-no-secret');
    const secretFile = join(dir, 'no-such-secret');
    await writeFile(file, `interface: nosuch0\nnetwork:\n  backend: native\nstateDir: ${stateDir}\nsecretFile: ${secretFile}\n`);
    const before = hostSnapshot();
    const run = await runCli(['start', '--config', file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`secretFile: "${secretFile}" does not exist`);
    expect(run.stderr).toContain(`sudo cluster-lab secret generate --output ${secretFile}`);
    expect(run.stderr).not.toMatch(/at .*\.js:\d+/);
    expect(hostSnapshot()).toBe(before);
    await expect(readdir(stateDir)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a missing config file is named', async () => {
    const run = await runCli(['start', '--config', join(dir, 'nope.yaml')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('nope.yaml');
    expect(run.stderr).toContain('does not exist');
  });

  it('the program’s own variables are not config: CLUSTER_LAB_DEBUG is ignored, CLUSTER_LAB_CONFIG names the file', async () => {
    const file = join(dir, 'from-env.yaml');
    await writeFile(file, 'interface: eth5\n');
    // --file-only: the file alone (this machine has no eth5 and no cluster secret).
    const run = await runCli(['config', 'check', '--file-only'], { env: { CLUSTER_LAB_DEBUG: '1', CLUSTER_LAB_CONFIG: file } });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`configuration OK (defaults ← ${file})`);
    const missing = await runCli(['config', 'check', '--file-only'], { env: { CLUSTER_LAB_CONFIG: join(dir, 'gone.yaml') } });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('CLUSTER_LAB_CONFIG');
  });

  it('an unknown backend flag is a usage error', async () => {
    const run = await runCli(['start', '--backend', 'wifi']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('wifi');
  });

  it('a non-root run of start exits 2 with a sudo hint and changes nothing', async () => {
    const file = join(dir, 'ok.yaml');
    await writeFile(file, `network:\n  backend: native\nstateDir: ${join(dir, 'state-nonroot')}\n`);
    const before = hostSnapshot();
    const run = await runCli(['start', '--config', file], { prefix: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('must run as root');
    expect(run.stderr).toContain('sudo cluster-lab start');
    expect(hostSnapshot()).toBe(before);
  });

  it('a stateDir with a newline (a dnsmasq directive) is refused before anything is written', async () => {
    const file = join(dir, 'inject.yaml');
    const stateDir = join(dir, 'inject-state');
    await writeFile(file, `stateDir: "${stateDir}\\ndhcp-script=/tmp/cl-evil"\n`);
    const before = hostSnapshot();
    const run = await runCli(['start', '--config', file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`stateDir: "${stateDir}\\ndhcp-script=/tmp/cl-evil" must not contain control characters`);
    expect(hostSnapshot()).toBe(before);
    await expect(readdir(stateDir)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('config check lists every problem at once', async () => {
    const file = join(dir, 'many.yaml');
    await writeFile(file, 'network:\n  vlanId: 0\nrole: boss\n');
    const run = await runCli(['config', 'check', '--config', file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('network.vlanId');
    expect(run.stderr).toContain('role');
  });
});
