import { FakeRunner, type ProgressEvent, parseConfig } from '@cluster-lab/core';
import type Dockerode from 'dockerode';
import { describe, expect, it } from 'vitest';
import { BinaryRuntime } from './binary-runtime.js';
import { chooseConsulRuntime } from './choose-runtime.js';
import { CONSUL_PLATFORMS, consulArch, consulImageForArch } from './consul-image.js';
import { ContainerRuntime, consulVersionOfImage, demux } from './container-runtime.js';

/** The few dockerode calls runtime choice makes, recorded. */
function stubDocker(opts: { images?: string[]; pullFails?: boolean; down?: boolean } = {}) {
  const calls: string[] = [];
  const images = new Set(opts.images ?? []);
  const docker = {
    getImage: (name: string) => ({
      inspect: async () => {
        calls.push(`inspect ${name}`);
        if (opts.down) throw Object.assign(new Error('connect ENOENT /var/run/docker.sock'), { code: 'ENOENT' });
        if (!images.has(name)) throw Object.assign(new Error('no such image'), { statusCode: 404 });
        return { Id: 'sha256:x' };
      },
    }),
    pull: async (name: string, o: { platform: string }) => {
      calls.push(`pull ${name} ${o.platform}`);
      if (opts.pullFails) throw new Error('registry unreachable');
      return 'stream';
    },
    modem: {
      followProgress: (_s: unknown, done: (e: Error | null) => void, onProgress: (e: object) => void) => {
        onProgress({ status: 'Pulling fs layer', id: 'abc' });
        onProgress({ status: 'Downloading', id: 'abc', progress: '[=> ]' });
        onProgress({ status: 'Pull complete', id: 'abc' });
        done(null);
      },
    },
  };
  return { docker: docker as unknown as Dockerode, calls };
}

const runDir = '/var/lib/cluster-lab/consul';

describe('consulImageForArch', () => {
  it('maps node/uname architectures to amd64, arm64, armv7 and their platforms', () => {
    expect(['x64', 'x86_64', 'arm64', 'aarch64', 'arm', 'armv7l'].map(consulArch)).toEqual([
      'amd64',
      'amd64',
      'arm64',
      'arm64',
      'armv7',
      'armv7',
    ]);
    expect(consulImageForArch('arm', 'hashicorp/consul:1.20')).toEqual({
      image: 'hashicorp/consul:1.20',
      arch: 'armv7',
      platform: 'linux/arm/v7',
    });
    expect(consulImageForArch('x64', 'hashicorp/consul:1.20').platform).toBe(CONSUL_PLATFORMS.amd64);
  });
  it('honours a per-architecture override', () => {
    expect(consulImageForArch('arm64', 'hashicorp/consul:1.20', { arm64: 'me/consul-arm64:1' }).image).toBe('me/consul-arm64:1');
    expect(consulImageForArch('x64', 'hashicorp/consul:1.20', { arm64: 'me/consul-arm64:1' }).image).toBe('hashicorp/consul:1.20');
  });
  it('rejects other architectures with a dependency error', () => {
    expect(() => consulArch('riscv64')).toThrow('no Consul image for CPU architecture "riscv64" (supported: amd64, arm64, armv7)');
  });
});

describe('chooseConsulRuntime', () => {
  const withConsul = () =>
    new FakeRunner().on('consul', ['version', '-format=json'], { stdout: '{"Version":"1.20.1","Revision":"1234","Prerelease":""}\n' });
  const withoutConsul = () => new FakeRunner().on('consul', ['version', '-format=json'], { notFound: true });

  it('auto prefers an installed executable', async () => {
    const { docker, calls } = stubDocker({ images: ['hashicorp/consul:1.20'] });
    const choice = await chooseConsulRuntime({ config: parseConfig({}), runner: withConsul(), docker, runDir });
    expect(choice.runtime).toBeInstanceOf(BinaryRuntime);
    expect(choice.reason).toBe('auto: found executable consul (Consul 1.20.1)');
    expect(calls).toEqual([]);
  });

  it('auto falls back to a present image for this architecture', async () => {
    const { docker, calls } = stubDocker({ images: ['hashicorp/consul:1.20'] });
    const choice = await chooseConsulRuntime({ config: parseConfig({}), runner: withoutConsul(), docker, runDir, arch: 'arm64' });
    expect(choice.runtime).toBeInstanceOf(ContainerRuntime);
    expect(choice.reason).toBe('auto: image present (container cluster-lab-consul (hashicorp/consul:1.20, linux/arm64))');
    expect(calls).toEqual(['inspect hashicorp/consul:1.20']);
  });

  it('auto pulls the image for the platform when nothing is present, with progress events', async () => {
    const { docker, calls } = stubDocker();
    const events: ProgressEvent[] = [];
    const choice = await chooseConsulRuntime({
      config: parseConfig({}),
      runner: withoutConsul(),
      docker,
      runDir,
      arch: 'arm',
      events: (e) => events.push(e),
    });
    expect(choice.reason).toBe('auto: pulled image (container cluster-lab-consul (hashicorp/consul:1.20, linux/arm/v7))');
    expect(calls).toEqual(['inspect hashicorp/consul:1.20', 'pull hashicorp/consul:1.20 linux/arm/v7']);
    expect(events.map((e) => (e.type === 'log' ? `${e.level} ${e.message}` : e.type))).toEqual([
      'info pulling hashicorp/consul:1.20 for linux/arm/v7',
      'debug pull hashicorp/consul:1.20: abc: Pulling fs layer',
      'debug pull hashicorp/consul:1.20: abc: Pull complete',
      'info pulled hashicorp/consul:1.20',
    ]);
  });

  it('auto reports what is missing when neither works', async () => {
    await expect(chooseConsulRuntime({ config: parseConfig({}), runner: withoutConsul(), runDir })).rejects.toMatchObject({
      code: 'CONSUL_NOT_INSTALLED',
      errorClass: 'dependency',
      message: 'no Consul available: executable "consul" not found and no Docker client',
    });
    const { docker } = stubDocker({ down: true });
    await expect(chooseConsulRuntime({ config: parseConfig({}), runner: withoutConsul(), docker, runDir })).rejects.toMatchObject({
      message: 'no Consul available: executable "consul" not found and Docker does not answer',
    });
    const failing = stubDocker({ pullFails: true });
    await expect(
      chooseConsulRuntime({ config: parseConfig({}), runner: withoutConsul(), docker: failing.docker, runDir }),
    ).rejects.toMatchObject({
      code: 'CONSUL_IMAGE_UNAVAILABLE',
      message: 'cannot pull hashicorp/consul:1.20 (linux/amd64): registry unreachable',
    });
  });

  it('binary mode requires the executable (also when missing behind nsenter: exit 127)', async () => {
    const cfg = parseConfig({ consul: { runtime: 'binary', binary: '/opt/consul/bin/consul' } });
    const runner = new FakeRunner().on('/opt/consul/bin/consul', ['version', '-format=json'], {
      exitCode: 127,
      stderr: 'nsenter: failed to execute',
    });
    await expect(chooseConsulRuntime({ config: cfg, runner, runDir })).rejects.toMatchObject({
      code: 'CONSUL_NOT_INSTALLED',
      message: 'consul.runtime is "binary" but the executable "/opt/consul/bin/consul" was not found',
    });
    const ok = await chooseConsulRuntime({
      config: cfg,
      runner: new FakeRunner()
        .on('/opt/consul/bin/consul', ['version', '-format=json'], { exitCode: 1, stderr: 'flag provided but not defined: -format' })
        .on('/opt/consul/bin/consul', ['version'], { stdout: 'Consul v1.19.2\n' }),
      runDir,
    });
    expect(ok.reason).toBe('consul.runtime: binary (Consul 1.19.2)');
    expect((ok.runtime as BinaryRuntime).pidFile).toBe('/var/lib/cluster-lab/consul/consul.pid');
  });

  it('container mode does not look for the binary and needs docker', async () => {
    const cfg = parseConfig({ consul: { runtime: 'container', image: 'my/consul:1' } });
    const runner = new FakeRunner();
    const { docker } = stubDocker();
    const choice = await chooseConsulRuntime({ config: cfg, runner, docker, runDir, arch: 'x64' });
    expect(choice.reason).toBe('consul.runtime: container (container cluster-lab-consul (my/consul:1, linux/amd64))');
    expect(runner.calls).toEqual([]);
    await expect(chooseConsulRuntime({ config: cfg, runner, runDir })).rejects.toMatchObject({ code: 'CONSUL_NOT_INSTALLED' });
  });
});

describe('demux', () => {
  it('decodes Docker multiplexed log frames and passes TTY output through', () => {
    const frame = (stream: number, text: string) => {
      const body = Buffer.from(text);
      const head = Buffer.alloc(8);
      head[0] = stream;
      head.writeUInt32BE(body.length, 4);
      return Buffer.concat([head, body]);
    };
    expect(demux(Buffer.concat([frame(1, 'out\n'), frame(2, 'err\n')]), false)).toBe('out\nerr\n');
    expect(demux(Buffer.from('raw'), true)).toBe('raw');
  });
});

describe('consulVersionOfImage', () => {
  it('reads the version label, then the CONSUL_VERSION env, then the tag', () => {
    const label = consulVersionOfImage('cluster-lab/consul:local', { 'org.opencontainers.image.version': '1.8.7' }, []);
    expect(label).toMatchObject({
      major: 1,
      minor: 8,
      patch: 7,
      source: 'label org.opencontainers.image.version of image cluster-lab/consul:local',
    });
    expect(consulVersionOfImage('x/consul:latest', { version: '1.19.2' }, []).minor).toBe(19);
    expect(consulVersionOfImage('hashicorp/consul:latest', {}, ['PATH=/bin', 'CONSUL_VERSION=1.20.1'])).toMatchObject({
      minor: 20,
      patch: 1,
      source: 'env CONSUL_VERSION of image hashicorp/consul:latest',
    });
    expect(consulVersionOfImage('registry:5000/hashicorp/consul:1.21', {}, [])).toMatchObject({ major: 1, minor: 21, patch: 0 });
  });
  it('names the image when nothing carries a version', () => {
    expect(() => consulVersionOfImage('my/consul:latest', {}, [])).toThrow(
      expect.objectContaining({
        code: 'CONSUL_VERSION_UNKNOWN',
        message: 'cannot tell the Consul version of image my/consul:latest: no version label, CONSUL_VERSION env or version tag',
      }),
    );
  });
});

describe('ContainerRuntime.stop', () => {
  it('never touches a container of the same name that Cluster Lab did not create', async () => {
    const removed: string[] = [];
    const docker = {
      getContainer: () => ({
        inspect: async () => ({ Id: 'c1', State: { Running: true }, Config: { Labels: {} } }),
        stop: async () => removed.push('stop'),
        remove: async () => removed.push('remove'),
      }),
    } as unknown as Dockerode;
    const runtime = new ContainerRuntime({ docker, image: consulImageForArch('x64', 'hashicorp/consul:1.20') });
    await expect(runtime.stop()).rejects.toThrow('container cluster-lab-consul exists but was not created by Cluster Lab; not touching it');
    expect(removed).toEqual([]);
  });

  it('stop of an absent container succeeds with false', async () => {
    const docker = {
      getContainer: () => ({
        inspect: async () => {
          throw Object.assign(new Error('no such container'), { statusCode: 404 });
        },
      }),
    } as unknown as Dockerode;
    expect(await new ContainerRuntime({ docker, image: consulImageForArch('x64', 'x') }).stop()).toBe(false);
  });
});
