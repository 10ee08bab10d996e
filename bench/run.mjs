// Runs every benchmark (bench/*-bench.mjs) and writes bench/RESULTS.md: one Markdown table of
// the metrics they report plus each script's full output. Needs root and a build (`npm run build`).
//
// Convention: a benchmark prints whatever helps a human, and one line per headline number:
//   BENCH <metric name with spaces allowed> | <value> | <unit> | <target or ->
import { execFileSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const scripts = readdirSync(here)
  .filter((f) => f.endsWith('-bench.mjs'))
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort();

const rows = [];
const sections = [];
for (const script of scripts) {
  process.stderr.write(`== ${script}\n`);
  const started = Date.now();
  let output;
  let failed = false;
  try {
    output = execFileSync(process.execPath, [join(here, script)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: 900_000,
    });
  } catch (error) {
    failed = true;
    output = `${error.stdout ?? ''}\nFAILED: ${error.message}`;
  }
  process.stderr.write(output);
  for (const line of output.split('\n')) {
    const m = /^BENCH (.+?) \| (.+?) \| (.+?) \| (.+)$/.exec(line.trim());
    if (m) rows.push({ script, metric: m[1], value: m[2], unit: m[3], target: m[4] });
  }
  sections.push(
    `### ${script}${failed ? ' (FAILED)' : ''}\n\nTook ${((Date.now() - started) / 1000).toFixed(1)} s.\n\n\`\`\`\n${output.trim()}\n\`\`\`\n`,
  );
}

const cpu = cpus()[0]?.model ?? 'unknown CPU';
const machine = `${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Linux ${release()}, Node ${process.versions.node}`;
const table = [
  '| benchmark | metric | value | unit | target |',
  '|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.script.replace('-bench.mjs', '')} | ${r.metric} | ${r.value} | ${r.unit} | ${r.target} |`),
].join('\n');
const md = `# Benchmark results\n\nMachine: ${machine}. Generated ${new Date().toISOString()} by \`npm run bench\` (bench/run.mjs).\n\n${table}\n\n## Raw output\n\n${sections.join('\n')}`;
const out = join(here, only.length ? 'RESULTS.partial.md' : 'RESULTS.md');
writeFileSync(out, md);
process.stderr.write(`wrote ${out}\n`);
