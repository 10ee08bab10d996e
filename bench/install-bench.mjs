// Node install: how big and how long. Builds the release (`npm run release`), installs it with
// scripts/install.sh into temporary roots (`--root`, so nothing on this machine changes; no root
// needed) and prints sizes and times:
//   - with a Node >= 22 already on the machine (the install copies files only);
//   - with Node 24 downloaded from the npm registry, through npm (empty cache) and through curl
//     (a node without npm);
//   - for comparison, the alternative of packing the workspace packages and installing them with
//     `npm install --omit=dev` (what a tarball-per-package release would cost).
// Network times depend on the registry link; the machine may be shared with other work.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const work = mkdtempSync(join(tmpdir(), 'cl-install-bench-'));

const size = (path) => {
  const s = statSync(path, { throwIfNoEntry: false });
  if (!s) return 0;
  return s.isDirectory() ? readdirSync(path).reduce((sum, f) => sum + size(join(path, f)), 0) : s.size;
};
const mb = (bytes) => (bytes / 1e6).toFixed(1);
const timed = (what, fn) => {
  const t0 = performance.now();
  fn();
  const s = (performance.now() - t0) / 1000;
  console.log(`${what}: ${s.toFixed(2)} s`);
  return s;
};
const bench = (metric, value, unit, target = '-') => console.log(`BENCH ${metric} | ${value} | ${unit} | ${target}`);

const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** SYSTEM_PATH's programs without Node.js and npm: a fresh Raspberry Pi OS / Debian node. */
function pathWithoutNode() {
  const dir = join(work, 'path-without-node');
  mkdirSync(dir);
  for (const from of SYSTEM_PATH.split(':')) {
    for (const name of readdirSync(from)) {
      if (['node', 'nodejs', 'npm', 'npx', 'corepack'].includes(name)) continue;
      try {
        symlinkSync(join(from, name), join(dir, name));
      } catch {
        // an earlier folder had it, as PATH order would
      }
    }
  }
  return dir;
}

/** The major version of the system's own Node.js (0 when there is none). */
function systemNodeMajor() {
  try {
    return Number(execFileSync('node', ['-p', 'process.versions.node.split(".")[0]'], { env: { PATH: SYSTEM_PATH }, encoding: 'utf8' }));
  } catch {
    return 0;
  }
}

try {
  const releaseDir = join(work, 'release');
  timed('npm run release', () =>
    execFileSync(process.execPath, [join(ROOT, 'scripts/release.mjs'), '--out', releaseDir], { stdio: 'inherit' }),
  );
  const tarball = readdirSync(releaseDir).find((f) => f.endsWith('.tar.gz'));
  const unpacked = join(releaseDir, basename(tarball, '.tar.gz'));
  bench('release tarball', mb(size(join(releaseDir, tarball))), 'MB');

  const install = (name, env) => {
    const root = join(work, name);
    const seconds = timed(`install.sh --root (${name})`, () =>
      execFileSync('bash', [join(unpacked, 'install.sh'), '--root', root], {
        stdio: ['ignore', 'ignore', 'inherit'],
        env: { HOME: process.env.HOME, ...env },
      }),
    );
    return { seconds, total: size(root), lib: size(join(root, 'opt/cluster-lab/lib')), node: size(join(root, 'opt/cluster-lab/node')) };
  };

  const present = install('node-present', { PATH: `${dirname(process.execPath)}:/usr/bin:/bin` });
  bench('install, Node >= 22 present (files only)', present.seconds.toFixed(2), 's');
  bench('installed size, Node >= 22 present', mb(present.total), 'MB');

  if (systemNodeMajor() >= 22) {
    console.log("this machine's own Node.js is >= 22: install.sh uses it, so the download cases are skipped here");
  } else {
    // A node with an old Node.js and npm (Debian's): npm fetches Node 24, here with an empty cache.
    const viaNpm = install('node-via-npm', { PATH: SYSTEM_PATH, npm_config_cache: join(work, 'npm-cache') });
    bench('install with Node 24 download via npm (empty npm cache)', viaNpm.seconds.toFixed(2), 's');
    const viaCurl = install('node-via-curl', { PATH: pathWithoutNode() });
    bench('install with Node 24 download via curl (no Node.js, no npm on the node)', viaCurl.seconds.toFixed(2), 's');
    bench('installed size with its own Node 24 (CLI + Node)', mb(viaCurl.total), 'MB');
    console.log(`  of which the CLI (opt/cluster-lab/lib): ${mb(viaCurl.lib)} MB, Node 24: ${mb(viaCurl.node)} MB`);
  }

  // The alternative: one npm tarball per workspace package, installed with runtime dependencies.
  const packs = join(work, 'packs');
  mkdirSync(packs);
  const workspaces = JSON.parse(execFileSync('npm', ['pkg', 'get', 'workspaces'], { cwd: ROOT, encoding: 'utf8' }));
  for (const ws of workspaces)
    execFileSync('npm', ['pack', '--silent', '--pack-destination', packs, '--workspace', ws], { cwd: ROOT, stdio: 'ignore' });
  const npmRoot = join(work, 'npm-install');
  mkdirSync(npmRoot);
  writeFileSync(join(npmRoot, 'package.json'), '{"private":true}\n');
  const tgz = readdirSync(packs).map((f) => join(packs, f));
  const npmSeconds = timed('npm install --omit=dev of the packed packages', () =>
    execFileSync('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', '--loglevel=error', ...tgz], {
      cwd: npmRoot,
      stdio: 'ignore',
    }),
  );
  const packages = readdirSync(join(npmRoot, 'node_modules')).flatMap((d) =>
    d.startsWith('@') ? readdirSync(join(npmRoot, 'node_modules', d)) : d.startsWith('.') ? [] : [d],
  ).length;
  bench('alternative: npm tarballs + npm install --omit=dev (warm npm cache), time', npmSeconds.toFixed(2), 's');
  bench('alternative: npm tarballs + npm install --omit=dev, node_modules', mb(size(join(npmRoot, 'node_modules'))), 'MB');
  console.log(`  ${packages} packages in node_modules; needs npm on the node and the registry at install time`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
