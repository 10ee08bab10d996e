import { describe, expect, it } from 'vitest';
import type { DependencyStatus } from './dependencies.js';
import { keepInstalledDocker } from './keep-installed-docker.js';

const daemonDown: DependencyStatus = {
  name: 'docker daemon',
  neededFor: 'Swarm / Consul container',
  ok: false,
  detail: 'no Docker socket at /var/run/docker.sock',
  aptPackage: 'docker.io',
  required: true,
  hint: 'apt-get install docker.io && systemctl start docker',
};
const dnsmasq: DependencyStatus = {
  name: 'dnsmasq',
  neededFor: 'DHCP',
  ok: false,
  detail: 'not found',
  aptPackage: 'dnsmasq-base',
  required: true,
};

describe('keepInstalledDocker', () => {
  it('drops docker.io from what apt would install when dockerd is there (docker-ce would be removed for it)', async () => {
    const [docker, other] = await keepInstalledDocker([daemonDown, dnsmasq], async () => '/usr/bin/dockerd');
    expect(docker).toEqual({
      name: 'docker daemon',
      neededFor: 'Swarm / Consul container',
      ok: false,
      detail: 'no Docker socket at /var/run/docker.sock (Docker is installed: /usr/bin/dockerd)',
      required: true,
      hint: 'start it: systemctl start docker',
    });
    expect(other).toBe(dnsmasq);
  });

  it('keeps docker.io when no Docker is installed at all', async () => {
    expect(await keepInstalledDocker([daemonDown, dnsmasq], async () => undefined)).toEqual([daemonDown, dnsmasq]);
  });

  it('does not look for dockerd when Docker is fine or not needed', async () => {
    const find = async () => {
      throw new Error('not called');
    };
    expect(await keepInstalledDocker([dnsmasq], find)).toEqual([dnsmasq]);
  });
});
