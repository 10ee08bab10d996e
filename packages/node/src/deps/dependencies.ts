import { access } from 'node:fs/promises';
import type { ClusterConfig, CommandRunner } from '@cluster-lab/core';
import { findExecutable } from '@cluster-lab/core';
import { kernelFeature } from './kernel-features.js';

/** One dependency and whether it is satisfied. */
export interface DependencyStatus {
  name: string;
  /** What needs it, e.g. "leader: DHCP server". */
  neededFor: string;
  ok: boolean;
  /** Found path/version or the problem. */
  detail: string;
  /** The Debian package that provides it, when installable with apt. */
  aptPackage?: string;
  /** True when start cannot work without it (false = only some roles/options need it). */
  required: boolean;
  hint?: string;
}

/** Options for {@link checkDependencies}. */
export interface CheckDependenciesOptions {
  config: ClusterConfig;
  runner: CommandRunner;
  /** PATH to search (default: process PATH). */
  path?: string;
}

async function program(
  name: string,
  neededFor: string,
  aptPackage: string | undefined,
  required: boolean,
  path?: string,
): Promise<DependencyStatus> {
  const found = await findExecutable(name, path);
  const status: DependencyStatus = { name, neededFor, ok: Boolean(found), detail: found ?? 'not found', required };
  if (aptPackage) status.aptPackage = aptPackage;
  if (!found) status.hint = aptPackage ? `apt-get install ${aptPackage} (or: cluster-lab dependencies --install)` : `install ${name}`;
  return status;
}

/**
 * Checks what `cluster-lab start` needs for this config, like the original's `dependencies`
 * command: programs, the Docker daemon, a Consul runtime and kernel features.
 */
export async function checkDependencies(options: CheckDependenciesOptions): Promise<DependencyStatus[]> {
  const { config, path } = options;
  const out: DependencyStatus[] = [];
  out.push(await program('ip', 'network configuration', 'iproute2', true, path));
  if (config.role !== 'follower') out.push(await program('arping', 'leader election (ARP probe)', 'arping', true, path));
  if (config.dhcp.enabled) {
    out.push(await program('dnsmasq', 'leader: DHCP server', 'dnsmasq-base', config.role !== 'follower', path));
    const clients = config.dhcp.client === 'auto' ? ['udhcpc', 'dhclient', 'dhcpcd'] : [config.dhcp.client];
    const found = await Promise.all(clients.map((c) => findExecutable(c, path)));
    const first = found.findIndex(Boolean);
    out.push({
      name: config.dhcp.client === 'auto' ? 'DHCP client' : config.dhcp.client,
      neededFor: 'follower: DHCP lease',
      ok: first >= 0,
      detail: first >= 0 ? `${clients[first]} (${found[first]})` : `none of ${clients.join(', ')} found`,
      aptPackage: 'udhcpc',
      required: config.role !== 'leader',
      ...(first >= 0 ? {} : { hint: 'apt-get install udhcpc' }),
    });
  }
  if (config.swarm.enabled || config.consul.runtime === 'container') {
    let ok = true;
    let detail = config.docker.socket;
    try {
      await access(config.docker.socket);
    } catch {
      ok = false;
      detail = `no Docker socket at ${config.docker.socket}`;
    }
    out.push({
      name: 'docker daemon',
      neededFor: 'Swarm / Consul container',
      ok,
      detail,
      aptPackage: 'docker.io',
      required: true,
      ...(ok ? {} : { hint: 'apt-get install docker.io && systemctl start docker' }),
    });
  }
  if (config.consul.enabled && config.consul.runtime !== 'container') {
    const consul = await program(
      config.consul.binary,
      'Consul agent (binary runtime)',
      undefined,
      config.consul.runtime === 'binary',
      path,
    );
    if (!consul.ok)
      consul.hint = `install Consul (https://developer.hashicorp.com/consul/install) or set consul.runtime: container (image ${config.consul.image})`;
    out.push(consul);
  }
  const backend = config.network.backend;
  if (backend === 'vlan' || backend === 'vxlan') {
    const module = backend === 'vlan' ? '8021q' : 'vxlan';
    const state = await kernelFeature(module);
    out.push({
      name: `kernel ${module}`,
      neededFor: `${backend} backend`,
      ok: state !== 'missing',
      detail: state === 'loadable' ? `module ${module} is loadable (modprobe ${module})` : state,
      required: true,
      ...(state === 'missing'
        ? {
            hint:
              backend === 'vlan'
                ? 'this kernel has no 802.1Q support: use network.backend vxlan or native, or a kernel with CONFIG_VLAN_8021Q'
                : 'this kernel has no VXLAN: use a kernel with CONFIG_VXLAN or the native backend',
          }
        : {}),
    });
  }
  return out;
}

/** Installs the missing apt packages among `statuses` through the runner (`apt-get install -y`). */
export async function installMissing(runner: CommandRunner, statuses: DependencyStatus[]): Promise<string[]> {
  const packages = [...new Set(statuses.filter((s) => !s.ok && s.aptPackage).map((s) => s.aptPackage as string))];
  if (packages.length === 0) return [];
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  await runner.run('apt-get', ['update', '-qq'], { timeoutMs: 300_000, env });
  await runner.run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], { timeoutMs: 900_000, env });
  return packages;
}
