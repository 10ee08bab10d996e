import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkImportGraph } from './check-import-graph.mjs';

/** Writes a tiny workspace: `files` maps paths under the root to their content. */
async function workspace(root, files) {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), typeof content === 'string' ? content : JSON.stringify(content));
  }
}

const manifest = (name, dependencies = {}, devDependencies = {}) => ({ name: `@cluster-lab/${name}`, dependencies, devDependencies });

describe('check-import-graph', () => {
  let root;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'cl-graph-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('passes a layered workspace, test files using their dev dependencies included', async () => {
    await workspace(root, {
      'packages/core/package.json': manifest('core'),
      'packages/core/src/index.ts': "export * from './a.js';",
      'packages/core/src/a.ts': 'export const a = 1;',
      'packages/dhcp/package.json': manifest('dhcp', { '@cluster-lab/core': '0.1.0' }, { '@cluster-lab/lab': '0.1.0' }),
      'packages/dhcp/src/index.ts': "import { a } from '@cluster-lab/core';\nexport const b = a;",
      'packages/dhcp/src/x.int.test.ts': "import { createLab } from '@cluster-lab/lab';",
      'packages/lab/package.json': manifest('lab', { '@cluster-lab/core': '0.1.0' }),
      'packages/lab/src/index.ts': "import type { a } from '@cluster-lab/core';",
    });
    expect(checkImportGraph(root).problems).toEqual([]);
  });

  it('names an import loop inside a package, type-only imports included', async () => {
    await workspace(root, {
      'packages/core/package.json': manifest('core'),
      'packages/core/src/a.ts': "import type { B } from './b.js';\nexport type A = B;",
      'packages/core/src/b.ts': "import { c } from './c.js';\nexport type B = string;",
      'packages/core/src/c.ts': "import type { A } from './a.js';\nexport const c = 1;",
    });
    expect(checkImportGraph(root).problems).toEqual(['import loop in packages/core: src/a.ts → src/b.ts → src/c.ts → src/a.ts']);
  });

  it('names an arrow back up, an undeclared package and a relative import out of the package', async () => {
    await workspace(root, {
      'packages/core/package.json': manifest('core'),
      'packages/core/src/index.ts': "import { x } from '@cluster-lab/node';\nimport { y } from '../../dhcp/src/index.js';",
      'packages/dhcp/package.json': manifest('dhcp'),
      'packages/dhcp/src/index.ts': 'export const y = 1;',
      'packages/node/package.json': manifest('node'),
      'packages/node/src/index.ts': 'export const x = 1;',
    });
    expect(checkImportGraph(root).problems).toEqual([
      'packages/core/src/index.ts: imports @cluster-lab/node, which packages/core/package.json does not declare in dependencies',
      'packages/core/src/index.ts: core (layer 0) imports node (layer 2): an arrow back up',
      'packages/core/src/index.ts: relative import ../../dhcp/src/index.js leaves packages/core',
    ]);
  });
});
