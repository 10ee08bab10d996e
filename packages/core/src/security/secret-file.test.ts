import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateSecret } from './cluster-secret.js';
import { readSecretFile, SecretFileError, secretFileProblem, writeSecretFile } from './secret-file.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cl-secret-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function failure(path: string, options = {}): Promise<SecretFileError> {
  try {
    await readSecretFile(path, options);
  } catch (error) {
    expect(error).toBeInstanceOf(SecretFileError);
    return error as SecretFileError;
  }
  throw new Error('expected a SecretFileError');
}

async function secretAt(name: string, mode: number, text = generateSecret().toText()): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `${text}\n`);
  await chmod(path, mode);
  return path;
}

describe('readSecretFile', () => {
  it('reads a 0600 and a 0400 file, also through a symlink', async () => {
    const secret = generateSecret();
    const path = await secretAt('secret', 0o600, secret.toText());
    expect((await readSecretFile(path)).equals(secret)).toBe(true);
    await chmod(path, 0o400);
    expect((await readSecretFile(path)).equals(secret)).toBe(true);
    await symlink(path, join(dir, 'link'));
    expect((await readSecretFile(join(dir, 'link'))).equals(secret)).toBe(true);
    expect(await secretFileProblem(path)).toBeUndefined();
  });

  it('a missing file: exit 2, with the generate command and how to copy it to the other nodes', async () => {
    const path = join(dir, 'secret');
    const error = await failure(path);
    expect(error).toMatchObject({ reason: 'missing', code: 'SECRET_FILE_INVALID', errorClass: 'config', exitCode: 2 });
    expect(error.message).toBe(`secretFile ${path} does not exist`);
    expect(error.hint).toContain(`sudo cluster-lab secret generate --output ${path}`);
    expect(error.hint).toContain(`sudo cat ${path} | ssh <user>@<node> 'sudo install -D -m 600 /dev/stdin ${path}'`);
    expect(error.hint).toContain('security: open');
    expect(await secretFileProblem(path)).toEqual({ path: 'secretFile', value: path, message: 'does not exist', hint: error.hint });
    expect((await failure(join(dir, 'no-dir', 'secret'))).reason).toBe('missing');
  });

  it.each([0o644, 0o640, 0o604, 0o660, 0o602, 0o620])('refuses mode %o with the chmod that fixes it', async (mode) => {
    const path = await secretAt('secret', mode);
    const error = await failure(path);
    expect(error.reason).toBe('permissions');
    expect(error.message).toContain(`mode ${mode.toString(8).padStart(4, '0')}; must be 0600 or 0400`);
    expect(error.hint).toBe(`run \`sudo chmod 600 ${path}\``);
  });

  it('refuses a directory', async () => {
    const path = join(dir, 'secret');
    await mkdir(path, { mode: 0o700 });
    expect((await failure(path)).reason).toBe('not-a-file');
  });

  it('refuses a file owned by another user', async () => {
    const path = await secretAt('secret', 0o600);
    const error = await failure(path, { ownerUids: [424242] });
    expect(error.reason).toBe('owner');
    expect(error.hint).toBe(`run \`sudo chown root:root ${path}\``);
  });

  it('refuses a truncated or foreign secret without printing it', async () => {
    const text = generateSecret().toText();
    const truncated = await secretAt('truncated', 0o600, text.slice(0, 40));
    const error = await failure(truncated);
    expect(error.reason).toBe('invalid');
    expect(error.message).toContain('does not hold a valid cluster secret: it has the wrong length');
    expect(error.message).not.toContain(text.slice(7, 40));
    expect(error.hint).toContain('copy the file again');
    const consulKey = await secretAt('consul-key', 0o600, 'pUqJrVyVRj5jsiYEkM/tFQ==');
    expect((await failure(consulKey)).message).toContain('does not start with "clsec1_"');
  });
});

describe('writeSecretFile', () => {
  it('writes mode 0600 (whatever the umask) and creates the directory', async () => {
    const path = join(dir, 'etc', 'cluster-lab', 'secret');
    const secret = generateSecret();
    const umask = process.umask(0);
    try {
      await writeSecretFile(path, secret);
    } finally {
      process.umask(umask);
    }
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readFile(path, 'utf8')).toBe(`${secret.toText()}\n`);
    expect((await readSecretFile(path)).equals(secret)).toBe(true);
  });

  it('never overwrites an existing secret without force, and leaves no temp file', async () => {
    const path = join(dir, 'secret');
    const first = generateSecret();
    await writeSecretFile(path, first);
    await expect(writeSecretFile(path, generateSecret())).rejects.toMatchObject({ code: 'SECRET_FILE_EXISTS', errorClass: 'usage' });
    expect((await readSecretFile(path)).equals(first)).toBe(true);
    const second = generateSecret();
    await chmod(path, 0o644);
    await writeSecretFile(path, second, { force: true });
    expect((await readSecretFile(path)).equals(second)).toBe(true);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['secret']);
  });
});
