import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadClusterKeys } from './cluster-keys.js';
import { generateSecret } from './cluster-secret.js';
import { deriveClusterKeys } from './derive-keys.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cl-keys-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('loadClusterKeys', () => {
  it('derives the keys of the secret file', async () => {
    const secret = generateSecret();
    const secretFile = join(dir, 'secret');
    await writeFile(secretFile, `${secret.toText()}\n`);
    await chmod(secretFile, 0o600);
    const keys = await loadClusterKeys({ security: 'secret', secretFile });
    expect(keys?.fingerprint).toBe(deriveClusterKeys(secret).fingerprint);
    expect(keys?.managementToken).toBe(deriveClusterKeys(secret).managementToken);
  });

  it('is undefined with security: open, without looking at the file', async () => {
    expect(await loadClusterKeys({ security: 'open', secretFile: join(dir, 'missing') })).toBeUndefined();
  });

  it('refuses a missing file with exit code 2 and the command that creates it', async () => {
    const secretFile = join(dir, 'missing');
    await expect(loadClusterKeys({ security: 'secret', secretFile })).rejects.toMatchObject({
      code: 'SECRET_FILE_INVALID',
      exitCode: 2,
      hint: expect.stringContaining(`cluster-lab secret generate --output ${secretFile}`),
    });
  });
});
