#!/usr/bin/env node
// Re-captures the 802.1Q fixtures of the unit tests from Debian's kernel in the test VM, since
// this machine's kernel has no 802.1Q: runs scripts/capture-vlan-fixtures-guest.sh there and
// copies its files into packages/vlan/src/backends/fixtures and packages/core/src/net/fixtures.
// Needs root, `bash scripts/setup-vm.sh` and the BUILT lab package (`npm run build -w
// packages/core -w packages/lab`), because plain node cannot import the TypeScript sources.
//   node scripts/capture-vlan-fixtures.mjs
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runInVm } from '@cluster-lab/lab';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const VLAN_FIXTURES = join(ROOT, 'packages/vlan/src/backends/fixtures');
const CORE_FIXTURES = join(ROOT, 'packages/core/src/net/fixtures');
/** Captured file → where it goes. */
const TARGETS = [
  ['vlan-eth0.200-down.json', join(VLAN_FIXTURES, 'vlan-eth0.200-down.json')],
  ['vlan-eth0.200-up.json', join(VLAN_FIXTURES, 'vlan-eth0.200-up.json')],
  ['vlan-add-exists-stderr.txt', join(VLAN_FIXTURES, 'vlan-add-exists-stderr.txt')],
  ['vlan-add-missing-parent-stderr.txt', join(VLAN_FIXTURES, 'vlan-add-missing-parent-stderr.txt')],
  ['vlan-eth0.200-up.json', join(CORE_FIXTURES, 'ip-j-d-link-show-dev-eth0.200.json')],
];

// The host's /tmp is a fresh tmpfs in the VM; the output folder reaches it as a shared folder.
const out = await mkdtemp(join(tmpdir(), 'cl-capture-'));
try {
  const result = await runInVm({
    command: ['/bin/sh', join(ROOT, 'scripts/capture-vlan-fixtures-guest.sh'), '/run/share0'],
    shares: [out],
    // QEMU's own default MAC, so a re-capture only changes what the kernel changed.
    nics: [{ mac: '52:54:00:12:34:56' }],
  });
  if (result.exitCode !== 0) {
    process.stderr.write(`capture failed in the VM (exit ${result.exitCode}):\n${result.stderr}`);
    process.exitCode = 1;
  } else {
    for (const [name, target] of TARGETS) {
      await copyFile(join(out, name), target);
      console.log(`${target.slice(ROOT.length + 1)}`);
    }
    const release = (await readFile(join(out, 'kernel-release'), 'utf8')).trim();
    const iproute2 = (await readFile(join(out, 'iproute2-version'), 'utf8')).trim();
    console.log(`captured on kernel ${release}, ${iproute2}`);
  }
} finally {
  await rm(out, { recursive: true, force: true });
}
