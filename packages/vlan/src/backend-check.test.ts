import { IpRoute2, runChecks } from '@cluster-lab/core';
import { describe, expect, it } from 'vitest';
import { backendCheck } from './backend-check.js';
import { VxlanBackend } from './backends/vxlan.js';
import { FakeIpNode } from './testing/fake-ip-node.js';

function vxlan() {
  const node = new FakeIpNode().withUplink();
  const network = new IpRoute2(node.runner);
  return new VxlanBackend({ uplink: 'eth0', name: 'vx200', vni: 200 }, { network, runner: node.runner });
}

describe('backendCheck', () => {
  it('PASSes a healthy link with its details', async () => {
    const backend = vxlan();
    await backend.ensure();
    const report = await runChecks([backendCheck(backend)]);
    expect(report.checks[0]).toMatchObject({
      id: 'network.link',
      title: 'cluster link vx200 (vxlan)',
      status: 'PASS',
      detail: 'vx200 up, MTU 1450, VNI 200 port 4790, addresses: none',
    });
  });

  it('FAILs a missing link with the hint', async () => {
    const report = await runChecks([backendCheck(vxlan())]);
    expect(report.ok).toBe(false);
    expect(report.checks[0]).toMatchObject({
      status: 'FAIL',
      detail: 'cluster link "vx200" does not exist',
      hint: 'run `cluster-lab start`',
    });
  });
});
