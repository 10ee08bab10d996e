import { findExecutable } from '@cluster-lab/core';
import type { DependencyStatus } from './dependencies.js';

/**
 * `dependencies --install` must never ask apt for `docker.io` on a machine that already has a
 * Docker engine whose daemon is merely not running: Docker's own `docker-ce` conflicts with
 * `docker.io`, so apt would remove the user's Docker to install Debian's. When `dockerd` is
 * installed, the missing-daemon status loses its apt package and says to start Docker instead.
 */
export async function keepInstalledDocker(
  statuses: DependencyStatus[],
  findDockerd: () => Promise<string | undefined> = () => findExecutable('dockerd'),
): Promise<DependencyStatus[]> {
  if (!statuses.some((s) => !s.ok && s.aptPackage === 'docker.io')) return statuses;
  const dockerd = await findDockerd();
  if (!dockerd) return statuses;
  return statuses.map((s) => {
    if (s.ok || s.aptPackage !== 'docker.io') return s;
    const { aptPackage: _dropped, ...rest } = s;
    return { ...rest, detail: `${s.detail} (Docker is installed: ${dockerd})`, hint: 'start it: systemctl start docker' };
  });
}
