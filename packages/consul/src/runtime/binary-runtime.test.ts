import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExecaRunner, FakeRunner } from '@cluster-lab/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleFakeConsul, randomLoopback } from '../test-support/bundle-fake-consul.js';
import { BinaryRuntime } from './binary-runtime.js';

let bin: string;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'binary-runtime-'));
  bin = await bundleFakeConsul(dir);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('BinaryRuntime', () => {
  it('starts `consul agent -config-file=…` detached, is idempotent, reports status and logs, stops gracefully', async () => {
    const addr = randomLoopback();
    const configFile = join(dir, 'ok.json');
    await writeFile(
      configFile,
      JSON.stringify({
        node_name: 'b1',
        data_dir: join(dir, 'data'),
        server: true,
        bootstrap_expect: 1,
        bind_addr: addr,
        client_addr: addr,
      }),
    );
    const runtime = new BinaryRuntime({ runner: new ExecaRunner(), binary: bin, runDir: join(dir, 'run') });
    expect(await runtime.version()).toMatchObject({ major: 1, minor: 20, patch: 0, prerelease: 'fake' });
    expect(await runtime.start({ configFile, dataDir: join(dir, 'data'), nodeName: 'b1' })).toEqual({ started: true });
    const status = await runtime.status();
    expect(status.running).toBe(true);
    expect(status.detail).toBe(`consul agent running (pid ${status.pid})`);
    expect(await runtime.start({ configFile, dataDir: join(dir, 'data'), nodeName: 'b1' })).toEqual({ started: false });
    expect(await runtime.logs(50)).toContain('Consul agent running!');
    expect(await runtime.stop()).toBe(true);
    expect(await runtime.stop()).toBe(false);
    expect((await runtime.status()).running).toBe(false);
    expect(await runtime.logs()).toMatch(/Gracefully shutting down agent[\s\S]*shutdown complete/);
  });

  it('reports an agent that exits at once with the tail of its log', async () => {
    const configFile = join(dir, 'bad.json');
    await writeFile(configFile, JSON.stringify({ node_name: 'b2' }));
    const runtime = new BinaryRuntime({ runner: new ExecaRunner(), binary: bin, runDir: join(dir, 'run-bad') });
    await expect(runtime.start({ configFile, dataDir: '/nonexistent', nodeName: 'b2' })).rejects.toMatchObject({
      code: 'CONSUL_START_FAILED',
      message: expect.stringMatching(/^consul exited right after start \(exit code 1\):\n[\s\S]*==> data_dir cannot be empty/),
    });
    expect((await runtime.status()).running).toBe(false);
  });

  it('a missing executable is CONSUL_NOT_INSTALLED; installedVersion() says undefined', async () => {
    const runtime = new BinaryRuntime({ runner: new ExecaRunner(), binary: join(dir, 'no-such-consul'), runDir: join(dir, 'run-missing') });
    expect(await runtime.installedVersion()).toBeUndefined();
    await expect(runtime.version()).rejects.toMatchObject({ code: 'CONSUL_NOT_INSTALLED', errorClass: 'dependency' });
    await expect(runtime.start({ configFile: '/x.json', dataDir: '/d', nodeName: 'x' })).rejects.toMatchObject({
      code: 'CONSUL_NOT_INSTALLED',
      errorClass: 'dependency',
    });
  });

  it('runs exactly `consul version -format=json` to probe, once per runtime', async () => {
    const runner = new FakeRunner().on('consul', ['version', '-format=json'], {
      stdout: '{"Version":"1.8.7","Revision":"","Prerelease":""}',
    });
    const runtime = new BinaryRuntime({ runner, runDir: '/run/x' });
    expect(await runtime.version()).toEqual({ major: 1, minor: 8, patch: 7, prerelease: '', source: 'consul version -format=json' });
    await runtime.version();
    expect(runner.commands()).toEqual(['consul version -format=json']);
    expect(new BinaryRuntime({ runner, runDir: '/run/x' }).describe()).toBe('binary consul (pid file /run/x/consul.pid)');
  });

  describe('stop: how the agent leaves', () => {
    /**
     * A stand-in for `consul agent` that records the signals it gets, like Consul: the first
     * SIGTERM starts a (long) graceful leave, a second one exits at once; SIGINT exits at once.
     */
    async function signalRecorder(name: string): Promise<{ runtime: BinaryRuntime; signals: () => Promise<string[]> }> {
      const record = join(dir, `${name}.signals`);
      const script = join(dir, `${name}.mjs`);
      await writeFile(
        script,
        `#!${process.execPath}
import { appendFileSync } from 'node:fs';
const note = (s) => appendFileSync(${JSON.stringify(record)}, s + '\\n');
let terms = 0;
process.on('SIGTERM', () => { note('SIGTERM'); if (++terms === 2) process.exit(1); });
process.on('SIGINT', () => { note('SIGINT'); process.exit(0); });
console.log('Consul agent running!');
setInterval(() => {}, 1000);
`,
      );
      await chmod(script, 0o755);
      const runtime = new BinaryRuntime({
        runner: new ExecaRunner(),
        binary: script,
        runDir: join(dir, `run-${name}`),
        stopTimeoutMs: 1500,
      });
      await runtime.start({ configFile: join(dir, 'unused.json'), dataDir: dir, nodeName: name });
      const signals = async () => (await readFile(record, 'utf8').catch(() => '')).trim().split('\n').filter(Boolean);
      return { runtime, signals };
    }

    it('graceful: SIGTERM, then a second SIGTERM as soon as the leave is done', async () => {
      const { runtime, signals } = await signalRecorder('graceful');
      let asked = 0;
      const started = Date.now();
      expect(await runtime.stop({ leave: 'graceful', left: async () => ++asked >= 3 })).toBe(true);
      expect(await signals()).toEqual(['SIGTERM', 'SIGTERM']);
      expect(asked).toBe(3);
      expect(Date.now() - started).toBeLessThan(3000);
      expect((await runtime.status()).running).toBe(false);
    });

    it('none (the whole cluster stops): SIGINT only', async () => {
      const { runtime, signals } = await signalRecorder('none');
      expect(await runtime.stop({ leave: 'none' })).toBe(true);
      expect(await signals()).toEqual(['SIGINT']);
    });

    it('graceful without a way to tell: one SIGTERM, then SIGKILL at the stop timeout', async () => {
      const { runtime, signals } = await signalRecorder('plain');
      const started = Date.now();
      expect(await runtime.stop()).toBe(true);
      expect(await signals()).toEqual(['SIGTERM']);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
    });
  });
});
