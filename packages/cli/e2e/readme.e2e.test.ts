import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, readmeQuickStart } from './readme-commands.js';

describe('README quick start', () => {
  it('has the two documented commands', () => {
    const { main, test } = readmeQuickStart();
    expect(main).toBe('bash scripts/lab.sh');
    expect(test).toBe('bash scripts/test.sh');
  });

  it('.ci/run runs exactly the README test command', () => {
    const ci = readFileSync(`${REPO_ROOT}.ci/run`, 'utf8');
    expect(ci).toContain(`exec ${readmeQuickStart().test}`);
  });
});
