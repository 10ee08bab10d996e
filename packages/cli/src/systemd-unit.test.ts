import { spawnSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const UNIT = fileURLToPath(new URL('../systemd/cluster-lab.service', import.meta.url));
const LAUNCHER = '/usr/local/bin/cluster-lab';

/** `key=value` lines of one section, in order. */
function section(text: string, name: string): [string, string][] {
  const body = text.split(/^\[/m).find((s) => s.startsWith(`${name}]`)) ?? '';
  return body
    .split('\n')
    .slice(1)
    .filter((l) => /^\w+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]);
}

describe('cluster-lab.service', () => {
  let dir: string;
  let text: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cl-unit-'));
    text = await readFile(UNIT, 'utf8');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('passes systemd-analyze verify (no warning either)', async () => {
    // verify checks that ExecStart's program exists: point it at a stand-in, as install.sh
    // points it at the launcher it installs.
    const launcher = join(dir, 'cluster-lab');
    await writeFile(launcher, '#!/bin/sh\nexit 0\n');
    await chmod(launcher, 0o755);
    const unit = join(dir, 'cluster-lab.service');
    await writeFile(unit, text.replaceAll(LAUNCHER, launcher));
    const run = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
    expect(run.error).toBeUndefined();
    expect({ status: run.status, output: `${run.stdout}${run.stderr}`.trim() }).toEqual({ status: 0, output: '' });
  });

  it('survives a Docker restart: wants and follows docker.service, never requires or binds to it', () => {
    const unit = section(text, 'Unit');
    const values = (key: string) => unit.filter(([k]) => k === key).flatMap(([, v]) => v.split(/\s+/));
    expect(values('Wants')).toContain('docker.service');
    expect(values('After')).toContain('docker.service');
    for (const strong of ['Requires', 'BindsTo', 'PartOf', 'Requisite']) expect(values(strong)).not.toContain('docker.service');
  });

  it('is ready when start has exited, runs stop at shutdown, logs as cluster-lab, reads the installed config', () => {
    const service = Object.fromEntries(section(text, 'Service'));
    expect(service).toMatchObject({
      Type: 'oneshot',
      RemainAfterExit: 'yes',
      ExecStart: `${LAUNCHER} start`,
      ExecStop: `${LAUNCHER} stop`,
      SyslogIdentifier: 'cluster-lab',
      RestartPreventExitStatus: '2 3',
    });
    expect(text).toContain('Environment=CLUSTER_LAB_CONFIG=/etc/cluster-lab/config.yaml');
  });
});
