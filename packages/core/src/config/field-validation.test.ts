import { describe, expect, it } from 'vitest';
import { ConfigError } from './config-error.js';
import { parseConfig } from './validate-config.js';

function problems(input: unknown): { path: string; value: unknown; message: string; hint?: string }[] {
  try {
    parseConfig(input);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems.map(({ path, value, message, hint }) => ({ path, value, message, ...(hint ? { hint } : {}) }));
  }
  throw new Error(`expected ${JSON.stringify(input)} to be rejected`);
}

const INJECT = '\ndhcp-script=/tmp/evil';

describe('parseConfig: values that reach a config file or argv', () => {
  it('refuses the stateDir with a newline from the issue (it would add a dnsmasq directive)', () => {
    const stateDir = `/var/lib/cluster-lab${INJECT}`;
    expect(problems({ stateDir })).toEqual([
      {
        path: 'stateDir',
        value: stateDir,
        message: expect.stringContaining('must not contain control characters such as a newline'),
        hint: 'use an absolute path such as /var/lib/cluster-lab',
      },
    ]);
    const error = (() => {
      try {
        parseConfig({ stateDir });
      } catch (e) {
        return e as Error;
      }
    })();
    // The rendered message shows the newline escaped, on one line.
    expect(error?.message).toContain('stateDir: "/var/lib/cluster-lab\\ndhcp-script=/tmp/evil" must not contain control characters');
  });

  it.each([
    ['stateDir', { stateDir: '/' }, 'must not be the root directory /'],
    ['stateDir', { stateDir: '/var/lib/..' }, 'must not contain "." or ".." segments'],
    ['stateDir', { stateDir: '/var/lib/cluster lab' }, 'may only contain letters, digits'],
    ['stateDir', { stateDir: 'relative' }, 'must be an absolute path'],
    ['secretFile', { secretFile: 'secret' }, 'must be an absolute path'],
    ['secretFile', { secretFile: `/etc/cluster-lab/secret${INJECT}` }, 'must not contain control characters'],
    ['docker.socket', { docker: { socket: `/run/docker.sock${INJECT}` } }, 'must not contain control characters'],
    ['docker.socket', { docker: { socket: `/${'a'.repeat(110)}` } }, 'must be at most 107 characters (the limit of a unix socket path)'],
    ['consul.binary', { consul: { binary: 'bin/consul' } }, 'must be a command name found in PATH'],
    ['consul.binary', { consul: { binary: '--config-dir=/tmp' } }, 'must be a command name found in PATH'],
    ['consul.binary', { consul: { binary: `/usr/bin/consul${INJECT}` } }, 'must not contain control characters'],
    ['consul.image', { consul: { image: 'hashicorp/consul:1.20 --privileged' } }, 'has an invalid tag'],
    ['consul.image', { consul: { image: 'hashicorp/Consul' } }, 'repository name must be lower-case'],
    ['consul.image', { consul: { image: '' } }, 'must not be empty'],
    ['consul.aclToken', { consul: { aclToken: 'abc\r\nX-Consul-Token: other' } }, 'must not contain control characters'],
    ['consul.aclToken', { consul: { aclToken: 'two words' } }, 'printable ASCII without spaces'],
    ['swarm.labels.zone', { swarm: { labels: { zone: `desk${INJECT}` } } }, 'must not contain control characters'],
    ['hostname', { hostname: `node1${INJECT}` }, 'must be a plain host name'],
    [
      'dhcp.staticLeases[0].hostname',
      { dhcp: { staticLeases: [{ mac: 'b8:27:eb:00:00:02', ip: '192.168.200.2', hostname: 'pi\nx' }] } },
      'must be a plain host name',
    ],
    ['consul.datacenter', { consul: { datacenter: `dc1${INJECT}` } }, 'must be lower-case letters'],
    ['network.vlanName', { network: { vlanName: 'vlan\n200' } }, 'may only contain letters, digits'],
    ['network.vxlan.name', { network: { vxlan: { name: 'vx\n200' } } }, 'may only contain letters, digits'],
    ['interface', { interface: 'eth0\n' }, 'may only contain letters, digits'],
    ['consul.encrypt', { consul: { encrypt: 'pUqJrVyVRj5jsiYEkM/tFQ==\n' } }, 'must be a base64 key'],
    ['security', { security: 'none' }, 'must be one of secret, open'],
  ])('%s: %j', (path, input, message) => {
    const found = problems(input);
    expect(found.map((p) => p.path)).toEqual([path]);
    expect(found[0]?.message).toContain(message);
  });

  it('accepts safe values and fills the security defaults', () => {
    const config = parseConfig({
      stateDir: '/srv/cluster-lab',
      secretFile: '/etc/cluster-lab/lab1.secret',
      consul: {
        binary: '/usr/local/bin/consul',
        image: 'registry.local:5000/hashicorp/consul:1.8.7',
        aclToken: '0b5bca55-6a7d-4ac4-9e3b-2f5f2a1d9e11',
      },
      swarm: { labels: { zone: 'rack 1 – desk' } },
      docker: { socket: '/run/docker.sock' },
    });
    expect(config).toMatchObject({ stateDir: '/srv/cluster-lab', secretFile: '/etc/cluster-lab/lab1.secret', security: 'secret' });
    expect(parseConfig({})).toMatchObject({ secretFile: '/etc/cluster-lab/secret', security: 'secret' });
    expect(parseConfig({ security: 'open' }).security).toBe('open');
  });
});
