#!/usr/bin/env node
// The house rule "no import loop, no arrow back up", checked on the source (run by
// scripts/test.sh). Fails on:
//  - an import cycle between the files of one package (type-only imports count: a loop of types
//    is still a loop a reader has to untangle);
//  - a package importing a package of its own layer or above (LAYERS, bottom first), or one it
//    does not declare in package.json; test files may also import their devDependencies (the lab
//    as a fixture), as long as the packages' dev graph has no cycle either;
//  - a relative import that leaves its package.
// Usage: node scripts/check-import-graph.mjs [--verbose]
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** Dependencies point one way: a package may import only packages of a lower layer. */
export const LAYERS = [['core'], ['vlan', 'dhcp', 'consul', 'swarm', 'lab', 'election'], ['node'], ['cli']];

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SCOPE = '@cluster-lab/';
// `src/test-support/` holds helpers only tests import (never reachable from a package entry).
const isTestFile = (file) => /\.(int\.|e2e\.)?test\.ts$/.test(file) || file.includes('/e2e/') || file.includes('/test-support/');

function sourceFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (name === 'node_modules' || name === 'dist') continue;
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** Every module specifier of a file: imports, `export … from`, `import()` and `import type`. */
function specifiers(file) {
  return ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles.map((f) => f.fileName);
}

/** The file a relative specifier names (`./x.js` is `./x.ts` in the source tree). */
function resolveRelative(from, spec) {
  const base = resolve(dirname(from), spec);
  for (const candidate of [base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts'), base]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}

/** Cycles of a directed graph (Tarjan's strongly connected components larger than one file, or a self-import). */
function cycles(graph) {
  let index = 0;
  const stack = [];
  const state = new Map();
  const found = [];
  const visit = (v) => {
    state.set(v, { index, low: index, onStack: true });
    index++;
    stack.push(v);
    for (const w of graph.get(v) ?? []) {
      if (!state.has(w)) {
        visit(w);
        state.get(v).low = Math.min(state.get(v).low, state.get(w).low);
      } else if (state.get(w).onStack) state.get(v).low = Math.min(state.get(v).low, state.get(w).index);
    }
    if (state.get(v).low === state.get(v).index) {
      const component = [];
      let w;
      do {
        w = stack.pop();
        state.get(w).onStack = false;
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? new Set()).has(v)) found.push(component.reverse());
    }
  };
  for (const v of graph.keys()) if (!state.has(v)) visit(v);
  return found;
}

/** One path around a strongly connected component, for a readable message. */
function loopPath(graph, component) {
  const inside = new Set(component);
  const start = component[0];
  const path = [start];
  const seen = new Set([start]);
  let at = start;
  for (;;) {
    const next = [...(graph.get(at) ?? [])].filter((n) => inside.has(n));
    const back = next.find((n) => n === start);
    if (back && path.length > 1) return [...path, start];
    const step = next.find((n) => !seen.has(n)) ?? back;
    if (!step) return [...path, start];
    if (step === start) return [...path, start];
    path.push(step);
    seen.add(step);
    at = step;
  }
}

export function checkImportGraph(root = ROOT) {
  const problems = [];
  const layerOf = new Map(LAYERS.flatMap((names, layer) => names.map((n) => [n, layer])));
  const packagesDir = join(root, 'packages');
  const packages = readdirSync(packagesDir).filter((p) => existsSync(join(packagesDir, p, 'package.json')));
  const packageGraph = new Map();
  let files = 0;
  let imports = 0;
  for (const pkg of packages) {
    const dir = join(packagesDir, pkg);
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const deps = new Set(Object.keys(manifest.dependencies ?? {}));
    const devDeps = new Set(Object.keys(manifest.devDependencies ?? {}));
    packageGraph.set(pkg, new Set([...deps, ...devDeps].filter((d) => d.startsWith(SCOPE)).map((d) => d.slice(SCOPE.length))));
    if (!layerOf.has(pkg)) problems.push(`packages/${pkg} has no layer in scripts/check-import-graph.mjs (LAYERS)`);
    const layer = layerOf.get(pkg) ?? Number.POSITIVE_INFINITY;
    const fileGraph = new Map();
    for (const file of sourceFiles(dir)) {
      files++;
      const rel = relative(root, file);
      const edges = new Set();
      fileGraph.set(file, edges);
      for (const spec of specifiers(file)) {
        imports++;
        if (spec.startsWith('.')) {
          const target = resolveRelative(file, spec);
          if (!target) problems.push(`${rel}: cannot resolve ${spec}`);
          else if (!target.startsWith(`${dir}/`)) problems.push(`${rel}: relative import ${spec} leaves packages/${pkg}`);
          else edges.add(target);
          continue;
        }
        if (!spec.startsWith(SCOPE)) continue;
        const name = spec.slice(SCOPE.length).split('/')[0];
        const full = `${SCOPE}${name}`;
        if (name === pkg) {
          problems.push(`${rel}: imports its own package by name (${spec}); use a relative import`);
          continue;
        }
        const test = isTestFile(file);
        const declared = deps.has(full) || (test && devDeps.has(full));
        if (!declared)
          problems.push(`${rel}: imports ${spec}, which packages/${pkg}/package.json does not declare${test ? '' : ' in dependencies'}`);
        const target = layerOf.get(name) ?? Number.POSITIVE_INFINITY;
        if (target >= layer && !(test && devDeps.has(full)))
          problems.push(`${rel}: ${pkg} (layer ${layer}) imports ${name} (layer ${target}): an arrow back up`);
      }
    }
    for (const component of cycles(fileGraph)) {
      problems.push(
        `import loop in packages/${pkg}: ${loopPath(fileGraph, component)
          .map((f) => relative(dir, f))
          .join(' → ')}`,
      );
    }
  }
  for (const component of cycles(packageGraph)) {
    problems.push(`package dependency loop: ${loopPath(packageGraph, component).join(' → ')}`);
  }
  return { problems, packages: packages.length, files, imports };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { problems, packages, files, imports } = checkImportGraph();
  for (const p of problems) console.error(`import graph: ${p}`);
  const layers = LAYERS.map((l) => l.join(', ')).join(' ← ');
  if (problems.length > 0) {
    console.error(`import graph: ${problems.length} problem(s) in ${packages} packages (${files} files)`);
    process.exit(1);
  }
  console.log(`import graph: no loop, no arrow back up (${packages} packages, ${files} files, ${imports} imports; ${layers})`);
}
