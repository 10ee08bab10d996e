import type { ClusterConfig } from '../config/schema.js';
import { type ClusterKeys, deriveClusterKeys } from './derive-keys.js';
import { type ReadSecretFileOptions, readSecretFile } from './secret-file.js';

/**
 * The keys of the cluster a config belongs to: read `secretFile` (checked as
 * {@link readSecretFile} does) and derive every per-use key from it; undefined with
 * `security: open`. Throws `SecretFileError` (exit code 2, the fixing command as hint) when
 * the file is missing or unusable. Read it once per process and pass the keys on — they are as
 * sensitive as the secret itself.
 *
 * @example
 * ```ts
 * const keys = await loadClusterKeys(config);
 * const { encrypt, token } = consulSecrets(config, keys);
 * ```
 */
export async function loadClusterKeys(
  config: Pick<ClusterConfig, 'security' | 'secretFile'>,
  options: ReadSecretFileOptions = {},
): Promise<ClusterKeys | undefined> {
  if (config.security === 'open') return undefined;
  return deriveClusterKeys(await readSecretFile(config.secretFile, options));
}
