import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExecaRunner } from '@cluster-lab/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOOK_SCRIPT, hookEventsFile, parseHookEvents, readHookEvents, writeHookScript } from './hook-script.js';

describe('parseHookEvents', () => {
  it('parses the lines the hook writes (captured from udhcpc 1.35 against dnsmasq 2.90)', () => {
    const text =
      '{"event":"deconfig","at":1795621890,"env":{"interface":"eth1"}}\n' +
      '{"event":"bound","at":1795621891,"env":{"interface":"eth1","ip":"192.168.200.111","mask":"24","subnet":"255.255.255.0","serverid":"192.168.200.1","lease":"3600","opt53":"05","opt58":"00000708","opt59":"00000c4e"}}\n';
    expect(parseHookEvents(text)).toEqual([
      { event: 'deconfig', at: new Date(1795621890000), env: { interface: 'eth1' } },
      {
        event: 'bound',
        at: new Date(1795621891000),
        env: {
          interface: 'eth1',
          ip: '192.168.200.111',
          mask: '24',
          subnet: '255.255.255.0',
          serverid: '192.168.200.1',
          lease: '3600',
          opt53: '05',
          opt58: '00000708',
          opt59: '00000c4e',
        },
      },
    ]);
  });

  it('skips a torn last line and lines of the wrong shape', () => {
    const text =
      '{"event":"bound","at":1,"env":{"ip":"1.2.3.4"}}\n{"event":"renew","at":2,"env":{"ip"\n[1,2]\n{"event":3,"at":1,"env":{}}\n';
    expect(parseHookEvents(text).map((e) => e.event)).toEqual(['bound']);
  });
});

describe('HOOK_SCRIPT (run by a real /bin/sh)', () => {
  let dir: string;
  const runner = new ExecaRunner();
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cl-dhcp-hook-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is a static script: no value is spliced into it', () => {
    expect(HOOK_SCRIPT).toMatch(/^#!\/bin\/sh\n/);
    // The events file is derived from the script's own path ($0), not from a spliced value.
    expect(HOOK_SCRIPT).toContain(['>> "$', '{0%/*}/events.jsonl"'].join(''));
  });

  it('writes executable, and reports hostile values verbatim as JSON without leaking upper-case variables', async () => {
    const hook = join(dir, 'hook.sh');
    const events = hookEventsFile(hook);
    expect(events).toBe(join(dir, 'events.jsonl'));
    await writeHookScript(hook);
    expect((await stat(hook)).mode & 0o777).toBe(0o755);
    const hostile = 'a"b\\c\nd\te$(touch /tmp/pwned)`x`';
    await runner.run(hook, ['bound'], {
      env: { ip: '192.168.200.101', hostname: hostile, SECRET_TOKEN: 's3cr3t' },
    });
    await runner.run(hook, [], { env: { reason: 'BOUND', new_ip_address: '192.168.200.102' } });
    const [first, second] = await readHookEvents(events);
    expect(first?.event).toBe('bound');
    expect(first?.env).toMatchObject({ ip: '192.168.200.101', hostname: hostile });
    expect(first?.env).not.toHaveProperty('SECRET_TOKEN');
    expect(first?.env).not.toHaveProperty('PATH');
    expect(Math.abs((first?.at.getTime() ?? 0) - Date.now())).toBeLessThan(5000);
    expect(second).toMatchObject({ event: 'BOUND', env: { reason: 'BOUND', new_ip_address: '192.168.200.102' } });
  });

  it('reads an absent events file as no events', async () => {
    expect(await readHookEvents(join(dir, 'none', 'events.jsonl'))).toEqual([]);
  });
});
