import {
  ClusterLabError,
  copySecretCommand,
  deriveClusterKeys,
  generateSecret,
  readSecretFile,
  safePathProblem,
  writeSecretFile,
} from '@cluster-lab/core';
import type { Command } from 'commander';
import { type ConfigFlags, type GlobalFlags, loadEffectiveConfig, makeOutput } from './context.js';

/** Flags of `cluster-lab secret generate`. */
interface GenerateFlags extends GlobalFlags {
  output?: string;
  force?: boolean;
}

/** Flags of the commands that read the secret file. */
interface ReadFlags extends GlobalFlags, ConfigFlags {
  file?: string;
  node?: string;
}

/** The derived values an operator may need by hand (Consul CLI, key rotation); the others never leave the process. */
export const DERIVABLE = ['gossip-key', 'management-token', 'agent-token'] as const;

/**
 * `cluster-lab secret generate`: prints a new cluster secret, or with `--output` writes it with
 * mode 0600 (atomically; an existing file only with `--force`) and says how to copy it.
 */
export async function runGenerate(...args: unknown[]): Promise<void> {
  const cmd = args.at(-1) as Command;
  const flags = cmd.optsWithGlobals<GenerateFlags>();
  const out = makeOutput(flags);
  const secret = generateSecret();
  if (flags.output === undefined) {
    // The secret itself is the output: also with --json, so `> file` and `| ssh …` work alike.
    if (out.options.json) out.json({ secret: secret.toText(), fingerprint: deriveClusterKeys(secret).fingerprint });
    else out.options.stdout.write(`${secret.toText()}\n`);
    return;
  }
  const problem = safePathProblem(flags.output);
  if (problem) {
    throw new ClusterLabError('USAGE', `--output ${JSON.stringify(flags.output)} ${problem}`, {
      hint: 'pass an absolute path such as /etc/cluster-lab/secret',
      errorClass: 'usage',
    });
  }
  await writeSecretFile(flags.output, secret, { force: Boolean(flags.force) });
  const fingerprint = deriveClusterKeys(secret).fingerprint;
  if (out.options.json) out.json({ written: flags.output, mode: '0600', fingerprint });
  else {
    out.line(`wrote a new cluster secret to ${flags.output} (mode 0600, fingerprint ${fingerprint})`);
    out.line('copy this same file to every other node of the cluster, e.g.:');
    out.line(`  ${copySecretCommand(flags.output)}`);
  }
}

async function secretPath(flags: ReadFlags): Promise<string> {
  if (flags.file !== undefined) return flags.file;
  const { config } = await loadEffectiveConfig(flags);
  return config.secretFile;
}

/**
 * `cluster-lab secret fingerprint`: checks the secret file and prints its fingerprint, a
 * non-secret name to compare across nodes (same fingerprint = same secret).
 */
export async function runFingerprint(...args: unknown[]): Promise<void> {
  const cmd = args.at(-1) as Command;
  const flags = cmd.optsWithGlobals<ReadFlags>();
  const out = makeOutput(flags);
  const path = await secretPath(flags);
  const { fingerprint } = deriveClusterKeys(await readSecretFile(path));
  if (out.options.json) out.json({ file: path, fingerprint });
  else out.line(`${path}: valid cluster secret, fingerprint ${fingerprint}`);
}

/**
 * `cluster-lab secret derive <what>`: prints one value derived from the secret that an operator
 * needs by hand — the Consul gossip key or management token (e.g. `CONSUL_HTTP_TOKEN` for the
 * `consul` CLI, or a key rotation), or a node's agent token.
 */
export async function runDerive(...args: unknown[]): Promise<void> {
  const cmd = args.at(-1) as Command;
  const what = args[0] as string;
  const flags = cmd.optsWithGlobals<ReadFlags>();
  const out = makeOutput(flags);
  if (!(DERIVABLE as readonly string[]).includes(what)) {
    throw new ClusterLabError('USAGE', `cannot derive "${what}"`, { hint: `use one of: ${DERIVABLE.join(', ')}`, errorClass: 'usage' });
  }
  if (what === 'agent-token' && !flags.node) {
    throw new ClusterLabError('USAGE', 'agent-token needs the node name', {
      hint: 'pass --node <consul node name>, e.g. --node pi2',
      errorClass: 'usage',
    });
  }
  const keys = deriveClusterKeys(await readSecretFile(await secretPath(flags)));
  const value =
    what === 'gossip-key' ? keys.gossipKey : what === 'management-token' ? keys.managementToken : keys.agentToken(flags.node as string);
  if (out.options.json) out.json({ [what]: value });
  else out.options.stdout.write(`${value}\n`);
}
