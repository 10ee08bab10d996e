#!/usr/bin/env node
// Generates the configuration reference table from core's zod schema, so the docs cannot drift
// from the code. Usage:
//   node scripts/config-reference.mjs [file.md]          rewrite the table between the markers
//   node scripts/config-reference.mjs [file.md] --check  exit 1 when the file is out of date (CI)
// The file defaults to docs/configuration.md. Reads the BUILT core package
// (`npm run build -w packages/core`), because plain node cannot import the TypeScript sources.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CORE_DIST = join(ROOT, 'packages/core/dist/index.js');
const CORE_SRC = join(ROOT, 'packages/core/src');
const BIOME = join(ROOT, 'node_modules/@biomejs/biome/bin/biome');
const START = '<!-- config-reference:start -->';
const END = '<!-- config-reference:end -->';

// Used only for fields whose schema has no `.describe()`; the schema's own text always wins,
// and the generator warns so the description can move into core where it belongs.
const FALLBACK_DESCRIPTIONS = {
  'dhcp.staticLeases[].hostname': 'host name given to that client',
  'consul.enabled': 'run Consul (server on the leader, agents on followers)',
  'consul.datacenter': 'Consul datacenter name',
  'consul.httpPort': 'Consul HTTP API port',
  'swarm.enabled': 'form a Docker Swarm (init on the leader, join on followers)',
};

// Probe values that tell the string validators apart (they are custom refinements, which
// JSON Schema cannot express): which of these a field accepts identifies its format.
const SAMPLES = {
  ip: '192.168.200.1',
  cidr: '192.168.200.0/24',
  mac: 'aa:bb:cc:dd:ee:ff',
  ifname: 'eth0',
  path: '/var/lib/x',
  long: 'abcdefghijklmnop',
  space: 'has space',
};

function fail(message, code = 2) {
  process.stderr.write(`config-reference: ${message}\n`);
  process.exit(code);
}

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Strips default/optional/pipe wrappers, collecting what they say about the field. */
function unwrap(schema) {
  let core = schema;
  let optional = false;
  let description = schema.description;
  for (;;) {
    const def = core._zod.def;
    if (def.type === 'default' || def.type === 'prefault') core = def.innerType;
    else if (def.type === 'optional' || def.type === 'nullable') {
      optional = true;
      core = def.innerType;
    } else if (def.type === 'pipe') core = def.in;
    else break;
    description ??= core.description;
  }
  return { core, optional, description };
}

function jsonSchema(schema) {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
}

const accepts = (schema, value) => schema.safeParse(value).success;

/**
 * What an interface-name field accepts besides letters and digits, read from the validator itself
 * (so the reference cannot promise a character the schema refuses, such as `:` in `eth0:1`).
 */
function interfaceNameRule(core) {
  const specials = ['.', '_', '-', '@', ':', '/'];
  const allowed = specials.filter((c) => accepts(core, `a${c}b`));
  const refused = specials.filter((c) => !allowed.includes(c));
  return `1–15 chars: letters, digits, ${code(allowed.join(' '))}${refused.length ? `; not ${refused.map(code).join(', ')} or spaces` : ''}`;
}

function code(text) {
  return `\`${String(text).replaceAll('|', '\\|')}\``;
}

function range(js) {
  const min = js.minimum ?? (js.exclusiveMinimum !== undefined ? `> ${js.exclusiveMinimum}` : undefined);
  const max = js.maximum !== undefined && js.maximum < Number.MAX_SAFE_INTEGER ? js.maximum : undefined;
  if (typeof min === 'number' && max !== undefined) return `${min}–${max}`;
  if (typeof min === 'number') return `≥ ${min}`;
  if (min !== undefined) return max !== undefined ? `${min}, ≤ ${max}` : min;
  return max !== undefined ? `≤ ${max}` : '';
}

/** Type label and allowed values of a leaf schema. */
function describeLeaf(core) {
  const type = core._zod.def.type;
  const js = jsonSchema(core);
  if (type === 'enum') return { type: 'enum', allowed: js.enum.map(code).join(', ') };
  if (type === 'boolean') return { type: 'boolean', allowed: '`true`, `false`' };
  if (type === 'number') {
    const label = js.type === 'integer' ? 'integer' : 'number';
    const span = range(js);
    if (js.type === 'integer' && typeof js.minimum === 'number' && typeof js.maximum === 'number' && js.maximum - js.minimum <= 16) {
      // Small ranges: list what the refinements actually accept (e.g. odd manager counts).
      const ok = [];
      for (let n = js.minimum; n <= js.maximum; n++) if (accepts(core, n)) ok.push(n);
      if (ok.length < js.maximum - js.minimum + 1) return { type: label, allowed: `one of ${ok.join(', ')}` };
    }
    return { type: label, allowed: span };
  }
  if (type === 'string') {
    const a = Object.fromEntries(Object.entries(SAMPLES).map(([k, v]) => [k, accepts(core, v)]));
    if (a.ip && !a.cidr && !a.ifname) return { type: 'IPv4 address', allowed: 'dotted quad, e.g. `10.0.0.1`' };
    if (a.cidr && !a.ip && !a.ifname) return { type: 'IPv4 CIDR', allowed: 'network/prefix, e.g. `192.168.200.0/24`' };
    if (a.mac && !a.ifname) return { type: 'MAC address', allowed: '`aa:bb:cc:dd:ee:ff` (stored lower-case)' };
    if (a.ifname && !a.long && !a.space && !a.path) return { type: 'interface name', allowed: interfaceNameRule(core) };
    if (a.path && !a.ifname) return { type: 'absolute path', allowed: 'starts with `/`' };
    if (js.pattern) return { type: 'string', allowed: `matches ${code(js.pattern)}` };
    if (js.minLength) return { type: 'string', allowed: 'non-empty' };
    return { type: 'string', allowed: '' };
  }
  if (type === 'union') {
    const parts = core._zod.def.options.map((o) => describeLeaf(unwrap(o).core));
    // Unconstrained members say nothing the type column does not; the description explains.
    return {
      type: parts.map((p) => p.type).join(' or '),
      allowed: parts.some((p) => p.allowed) ? parts.map((p) => `${p.type}${p.allowed ? ` ${p.allowed}` : ''}`).join('; ') : '',
    };
  }
  if (type === 'record') {
    const key = jsonSchema(core).propertyNames ?? {};
    const value = describeLeaf(unwrap(core._zod.def.valueType).core);
    return { type: `map of ${plural(value.type)}`, allowed: key.pattern ? `keys match ${code(key.pattern)}` : '' };
  }
  return { type, allowed: '' };
}

function plural(label) {
  return label.endsWith('s') ? `${label}es` : `${label}s`;
}

function envName(segments) {
  return `CLUSTER_LAB_${segments.map((s) => s.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()).join('__')}`;
}

function formatDefault(value) {
  if (value === undefined) return 'unset';
  if (value === Number.POSITIVE_INFINITY) return code('infinite');
  if (typeof value === 'string') return code(value);
  return code(JSON.stringify(value));
}

function valueAt(object, segments) {
  return segments.reduce((cur, key) => (cur === undefined || cur === null ? undefined : cur[key]), object);
}

/** Walks the schema depth-first, one row per leaf field (and per list of objects). */
function collectRows(schema, defaults, envOverrides, segments = [], inArray = false, rows = [], warnings = []) {
  for (const [key, field] of Object.entries(schema.shape)) {
    const path = [...segments, key];
    const name = path.join('.').replaceAll('.[]', '[]');
    const { core, optional, description: own } = unwrap(field);
    const type = core._zod.def.type;
    if (type === 'object') {
      collectRows(core, defaults, envOverrides, path, inArray, rows, warnings);
      continue;
    }
    let description = own;
    if (!description) {
      description = FALLBACK_DESCRIPTIONS[name] ?? '';
      warnings.push(name);
    }
    let env = '—';
    if (!inArray) {
      env = envName(path);
      // Prove the variable really maps back onto this field with core's own env parser.
      const probe = valueAt(envOverrides({ [env]: 'x' }), path);
      if (probe !== 'x') fail(`environment variable ${env} does not map back onto ${name}; update envName()`);
      env = code(env);
    }
    const def = inArray ? (optional || field._zod.def.type === 'default' ? undefined : 'required') : valueAt(defaults, path);
    const defaultCell = def === 'required' ? 'required' : formatDefault(def);
    if (type === 'array') {
      const element = unwrap(core._zod.def.element).core;
      if (element._zod.def.type === 'object') {
        rows.push({ name, type: 'list of objects', def: defaultCell, allowed: 'fields below', env, description });
        collectRows(element, defaults, envOverrides, [...path, '[]'], true, rows, warnings);
      } else {
        const leaf = describeLeaf(element);
        rows.push({
          name,
          type: `list of ${plural(leaf.type)}`,
          def: defaultCell,
          allowed: leaf.allowed ? `each: ${leaf.allowed}` : '',
          env,
          description,
        });
      }
      continue;
    }
    const leaf = describeLeaf(core);
    rows.push({ name, type: leaf.type, def: defaultCell, allowed: leaf.allowed, env, description });
  }
  return { rows, warnings };
}

function renderTable(rows) {
  const cell = (text) => String(text).replaceAll('\n', ' ');
  const head = ['| Field | Type | Default | Allowed values | Environment variable | Description |', '|---|---|---|---|---|---|'];
  const body = rows.map(
    (r) => `| ${code(r.name)} | ${r.type} | ${cell(r.def)} | ${cell(r.allowed) || '—'} | ${r.env} | ${cell(r.description) || '—'} |`,
  );
  return [
    '<!-- Generated by scripts/config-reference.mjs from configSchema in packages/core/src/config/schema.ts. Do not edit by hand. -->',
    '',
    ...head,
    ...body,
  ].join('\n');
}

/**
 * Formats Markdown the way `npm run lint` (biome) wants it — it pads table columns — so the
 * generated file passes the linter and `--check` compares like with like.
 */
function formatMarkdown(text, target) {
  if (!existsSync(BIOME)) return text;
  const rel = relative(ROOT, target);
  // Biome only formats paths inside the repository; outside it, borrow a path for the language.
  const stdinPath = rel.startsWith('..') || isAbsolute(rel) ? 'docs/config-reference.md' : rel;
  const result = spawnSync(process.execPath, [BIOME, 'format', `--stdin-file-path=${stdinPath}`], {
    cwd: ROOT,
    input: text,
    encoding: 'utf8',
  });
  if (result.status !== 0 || !result.stdout) {
    process.stderr.write(
      `config-reference: warning: biome could not format the output (${result.stderr?.split('\n')[0] ?? result.status}); writing it unformatted\n`,
    );
    return text;
  }
  return result.stdout;
}

async function main() {
  const args = process.argv.slice(2);
  const check = args.includes('--check');
  const unknown = args.filter((a) => a.startsWith('-') && a !== '--check');
  if (unknown.length) fail(`unknown option ${unknown.join(', ')}; usage: config-reference.mjs [file.md] [--check]`);
  const target = resolve(args.find((a) => !a.startsWith('-')) ?? join(ROOT, 'docs/configuration.md'));

  if (!existsSync(CORE_DIST)) fail('packages/core/dist/index.js is missing; run `npm run build -w packages/core` first');
  if (newestMtime(CORE_SRC) > statSync(CORE_DIST).mtimeMs) {
    process.stderr.write('config-reference: warning: packages/core/src is newer than its dist; run `npm run build -w packages/core`\n');
  }
  const core = await import(pathToFileURL(CORE_DIST).href);
  const { rows, warnings } = collectRows(unwrap(core.configSchema).core, core.configSchema.parse({}), core.envOverrides);
  if (warnings.length) {
    process.stderr.write(
      `config-reference: note: no .describe() in the schema for ${warnings.join(', ')} (the table uses the generator's fallback text where it has one)\n`,
    );
  }

  if (!existsSync(target)) fail(`${target} does not exist`);
  const text = readFileSync(target, 'utf8');
  const from = text.indexOf(START);
  const to = text.indexOf(END);
  if (from < 0 || to < from) fail(`${relative(process.cwd(), target)} has no ${START} … ${END} markers`);
  const updated = formatMarkdown(`${text.slice(0, from + START.length)}\n${renderTable(rows)}\n${text.slice(to)}`, target);

  const shown = relative(process.cwd(), target);
  if (check) {
    if (updated !== text) {
      fail(`${shown} is out of date with the config schema; run \`node scripts/config-reference.mjs ${shown}\` and commit the result`, 1);
    }
    process.stdout.write(`config-reference: ${shown} is up to date (${rows.length} fields)\n`);
    return;
  }
  if (updated !== text) writeFileSync(target, updated);
  process.stdout.write(`config-reference: ${updated !== text ? 'updated' : 'unchanged'} ${shown} (${rows.length} fields)\n`);
}

await main();
