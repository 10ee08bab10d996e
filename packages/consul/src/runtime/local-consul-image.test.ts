import { describe, expect, it } from 'vitest';
import { parseLdd } from './local-consul-image.js';

describe('parseLdd', () => {
  it('lists library files, including the loader, and skips the vDSO', () => {
    const out = `\tlinux-vdso.so.1 (0x00007ffd)
\tlibdl.so.2 => /lib/x86_64-linux-gnu/libdl.so.2 (0x00007f62)
\tlibstdc++.so.6 => /lib/x86_64-linux-gnu/libstdc++.so.6 (0x00007f62)
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f62)
\t/lib64/ld-linux-x86-64.so.2 (0x00007f62)
`;
    expect(parseLdd(out)).toEqual([
      '/lib/x86_64-linux-gnu/libdl.so.2',
      '/lib/x86_64-linux-gnu/libstdc++.so.6',
      '/lib/x86_64-linux-gnu/libc.so.6',
      '/lib64/ld-linux-x86-64.so.2',
    ]);
  });
});
