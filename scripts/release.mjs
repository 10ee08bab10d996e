// `npm run release`: the node install artifact. One tarball, release/cluster-lab-<version>.tar.gz,
// that installs without npm, a build or any dev dependency (scripts/install.sh; see
// docs/raspberry-pi.md). Why one bundle rather than `npm pack` tarballs of the packages, measured
// by bench/install-bench.mjs: the packed packages need npm on the node and the registry at install
// time, and `npm install --omit=dev` takes ~40 s for 97 packages (24 MB of node_modules); the
// bundle is 4 MB of plain files (0.7 MB packed), pure JavaScript — one tarball for every CPU —
// installed in about a second.
//
//   cluster-lab-<version>/
//     install.sh                  scripts/install.sh
//     lib/bin.js, lib/*.js         the CLI and every runtime dependency, bundled by esbuild (ESM,
//                                  split so each command loads only what it uses, as dist/ does)
//     systemd/cluster-lab.service  the unit
//     config/config.yaml           the commented defaults (copied to /etc/cluster-lab if absent)
//     LICENSE, THIRD-PARTY-LICENSES.txt, VERSION
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * dockerode loads its BuildKit session module — gRPC and protobuf — as soon as it is required,
 * for image builds Cluster Lab never does; loading them costs ~0.2 s of CPU on every command (a
 * third of a `stop`'s start-up on a Raspberry Pi class CPU). The bundle gets a stand-in that says
 * so should anything ever start a BuildKit build.
 */
const withoutBuildkitSession = {
  name: 'dockerode-without-buildkit-session',
  setup(b) {
    b.onResolve({ filter: /^\.\/session$/ }, (args) =>
      /[\\/]dockerode[\\/]lib[\\/]/.test(args.importer) ? { path: 'dockerode-session', namespace: 'cluster-lab-stub' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'cluster-lab-stub' }, () => ({
      contents:
        "module.exports = function withSession() { throw new Error('cluster-lab is bundled without BuildKit sessions (dockerode image builds)'); };",
      loader: 'js',
    }));
  },
};
const version = JSON.parse(readFileSync(join(ROOT, 'packages/cli/package.json'), 'utf8')).version;
const name = `cluster-lab-${version}`;
// `--out DIR` puts the release elsewhere (tests); default release/ in the repository.
const outFlag = process.argv.indexOf('--out');
const out = outFlag > 0 && process.argv[outFlag + 1] ? resolve(process.argv[outFlag + 1]) : join(ROOT, 'release');
const stage = join(out, name);

rmSync(stage, { recursive: true, force: true });
rmSync(`${stage}.tar.gz`, { force: true });
for (const dir of ['lib', 'systemd', 'config']) mkdirSync(join(stage, dir), { recursive: true });

const started = performance.now();
const result = await build({
  // Named `bin` so the lab's `cliBinPath()` (./bin.js next to the running chunk) finds it.
  entryPoints: { bin: join(ROOT, 'packages/cli/src/bin.ts') },
  outdir: join(stage, 'lib'),
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  // The workspace packages from their TypeScript sources, as the tests see them.
  conditions: ['source'],
  // Optional native speed-ups of ssh2 (a dockerode dependency, used only for ssh:// Docker hosts):
  // ssh2 falls back to JavaScript when they cannot be loaded.
  external: ['cpu-features', '*.node'],
  // Bundled CommonJS calls require() and reads __dirname; an ESM chunk has neither.
  banner: {
    js: "import { createRequire as __clCreateRequire } from 'node:module'; const require = __clCreateRequire(import.meta.url);",
  },
  define: { __dirname: 'import.meta.dirname', __filename: 'import.meta.filename' },
  legalComments: 'none',
  plugins: [withoutBuildkitSession],
  metafile: true,
  logLevel: 'warning',
});
writeFileSync(
  join(stage, 'lib/package.json'),
  `${JSON.stringify({ name: '@cluster-lab/release', private: true, version, type: 'module' }, null, 2)}\n`,
);

// The licences of everything bundled (MIT and friends ask for their notices to travel along).
const bundled = new Map();
for (const input of Object.keys(result.metafile.inputs)) {
  const m = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
  if (m) bundled.set(m[1], true);
}
const notices = [...bundled.keys()].sort().map((dir) => {
  const pkg = JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8'));
  const file = readdirSync(join(ROOT, dir)).find((f) => /^(licen[cs]e|copying)(\.|$)/i.test(f));
  const text = file ? readFileSync(join(ROOT, dir, file), 'utf8').trim() : `License: ${pkg.license ?? 'see package'}`;
  return `${pkg.name}@${pkg.version} (${pkg.license ?? 'unknown'})\n\n${text}\n`;
});
writeFileSync(join(stage, 'THIRD-PARTY-LICENSES.txt'), `${notices.join(`\n${'-'.repeat(72)}\n\n`)}`);

cpSync(join(ROOT, 'scripts/install.sh'), join(stage, 'install.sh'));
cpSync(join(ROOT, 'packages/cli/systemd/cluster-lab.service'), join(stage, 'systemd/cluster-lab.service'));
cpSync(join(ROOT, 'examples/config/config.yaml'), join(stage, 'config/config.yaml'));
cpSync(join(ROOT, 'LICENSE'), join(stage, 'LICENSE'));
writeFileSync(join(stage, 'VERSION'), `${version}\n`);

// A smoke test of the bundle itself before anyone installs it.
const printed = execFileSync(process.execPath, [join(stage, 'lib/bin.js'), '--version'], { encoding: 'utf8' }).trim();
if (printed !== version) throw new Error(`release: the bundle printed ${JSON.stringify(printed)} for --version, expected ${version}`);

execFileSync('tar', ['-czf', `${name}.tar.gz`, '--owner=0', '--group=0', name], { cwd: out });

const size = (path) =>
  statSync(path).isDirectory() ? readdirSync(path).reduce((sum, f) => sum + size(join(path, f)), 0) : statSync(path).size;
const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;
process.stdout.write(
  `release: ${relative(ROOT, `${stage}.tar.gz`)} (${mb(size(`${stage}.tar.gz`))}; unpacked ${mb(size(stage))}, ` +
    `${bundled.size} bundled packages) in ${((performance.now() - started) / 1000).toFixed(1)} s\n` +
    `install on a node: copy it over, then: tar -xzf ${name}.tar.gz && sudo bash ${name}/install.sh\n`,
);
