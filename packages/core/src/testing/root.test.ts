import { afterEach, describe, expect, it, vi } from 'vitest';
import { skipUnlessRoot, uniqueSuffix } from './root.js';

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

describe('testing helpers', () => {
  it('uniqueSuffix gives short, distinct, name-safe suffixes', () => {
    const many = new Set(Array.from({ length: 200 }, () => uniqueSuffix()));
    expect(many.size).toBe(200);
    for (const s of many) expect(s).toMatch(/^[a-z0-9]{5}$/);
    expect(uniqueSuffix(3)).toMatch(/^[a-z0-9]{3}$/);
  });

  it('skipUnlessRoot skips for non-root outside CI, throws under CI, never skips for root', () => {
    const getuid = vi.spyOn(process, 'getuid');
    getuid.mockReturnValue(1000);
    vi.stubEnv('CI', '');
    expect(skipUnlessRoot()).toBe(true);
    vi.stubEnv('CI', 'true');
    expect(() => skipUnlessRoot()).toThrow('root-only tests must run under CI=true, but this process is not root');
    getuid.mockReturnValue(0);
    expect(skipUnlessRoot()).toBe(false);
  });
});
