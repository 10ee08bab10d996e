import { consulError } from '../consul-errors.js';

/** CPU architectures Cluster Lab runs Consul on, with Docker platform strings. */
export const CONSUL_PLATFORMS = {
  amd64: 'linux/amd64',
  arm64: 'linux/arm64',
  armv7: 'linux/arm/v7',
} as const;

/** A supported architecture. */
export type ConsulArch = keyof typeof CONSUL_PLATFORMS;

/** The image to run and the platform to pull it for. */
export interface ConsulImageChoice {
  image: string;
  arch: ConsulArch;
  platform: (typeof CONSUL_PLATFORMS)[ConsulArch];
}

/** Maps Node's `process.arch` (or `uname -m` output) to a {@link ConsulArch}. */
export function consulArch(arch: string): ConsulArch {
  switch (arch) {
    case 'x64':
    case 'x86_64':
    case 'amd64':
      return 'amd64';
    case 'arm64':
    case 'aarch64':
      return 'arm64';
    case 'arm':
    case 'armv7l':
    case 'armv7':
      return 'armv7';
    default:
      throw consulError('CONSUL_UNSUPPORTED_ARCH', `no Consul image for CPU architecture "${arch}" (supported: amd64, arm64, armv7)`, {
        hint: 'run the binary runtime (consul.runtime: binary) with a Consul build for this machine',
        errorClass: 'dependency',
      });
  }
}

/**
 * Picks the Consul image for a CPU architecture. The official `hashicorp/consul` image is a
 * multi-arch manifest, so the same name serves amd64, arm64 and armv7 and we pin the platform on
 * pull; `perArch` overrides the image for one architecture (e.g. a self-built armv7 image).
 *
 * @example
 * ```ts
 * consulImageForArch('arm64', 'hashicorp/consul:1.20');
 * // → { image: 'hashicorp/consul:1.20', arch: 'arm64', platform: 'linux/arm64' }
 * ```
 */
export function consulImageForArch(arch: string, image: string, perArch: Partial<Record<ConsulArch, string>> = {}): ConsulImageChoice {
  const a = consulArch(arch);
  return { image: perArch[a] ?? image, arch: a, platform: CONSUL_PLATFORMS[a] };
}
