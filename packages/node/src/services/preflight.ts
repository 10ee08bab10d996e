import { ClusterLabError, ConfigError, hostConfigProblems } from '@cluster-lab/core';
import { checkDependencies } from '../deps/dependencies.js';
import type { ServiceContext } from '../node-services.js';
import { securityPreflight } from '../security/security-preflight.js';

/**
 * Before anything changes: the config fits this host (the uplink or cluster NIC exists, the
 * cluster secret file is usable unless `security: open`, …) and the programs the config needs
 * are installed. Throws a `ConfigError` or a `dependency` `ClusterLabError`
 * (`DEPENDENCY_MISSING`) naming what is missing and how to install it. `security: open` warns.
 */
export async function preflight(ctx: ServiceContext): Promise<void> {
  const { config, network, runner } = ctx.node;
  const problems = await hostConfigProblems(config, network, { secret: true });
  if (config.security === 'open' || problems.length === 0) securityPreflight(ctx.node, ctx.onEvent);
  if (problems.length > 0) throw new ConfigError(problems);
  const missing = (await checkDependencies({ config, runner })).filter((d) => !d.ok && d.required);
  if (missing.length > 0) {
    throw new ClusterLabError('DEPENDENCY_MISSING', `missing: ${missing.map((d) => `${d.name} (${d.detail})`).join(', ')}`, {
      hint: missing[0]?.hint ?? 'run `cluster-lab dependencies --install`',
      errorClass: 'dependency',
    });
  }
}
