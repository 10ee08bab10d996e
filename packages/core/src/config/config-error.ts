import { ClusterLabError } from '../errors/cluster-lab-error.js';

/** One problem in a configuration. */
export interface ConfigProblem {
  /** Dotted field path, e.g. `dhcp.rangeStart`. */
  path: string;
  /** The offending value (undefined when missing). */
  value: unknown;
  message: string;
  hint?: string;
  /** Where the value was set when that is not the field itself: `CLUSTER_LAB_ROLE`, `VLAN_ID in /etc/…/cluster.conf`. */
  origin?: string;
}

/**
 * Every problem found in a configuration, each with its field path, value and a hint.
 * The message lists them all so a user fixes the file in one go.
 */
export class ConfigError extends ClusterLabError {
  readonly problems: ConfigProblem[];
  readonly source: string | undefined;

  constructor(problems: ConfigProblem[], source?: string) {
    const where = source ? ` in ${source}` : '';
    const lines = problems.map(
      (p) => `  - ${p.path}: ${formatValue(p.value)} ${p.message}${p.origin ? ` [set by ${p.origin}]` : ''}${p.hint ? ` (${p.hint})` : ''}`,
    );
    super('CONFIG_INVALID', `invalid configuration${where}:\n${lines.join('\n')}`, {
      hint: problems.find((p) => p.hint)?.hint ?? 'fix the fields listed above; `cluster-lab config print` shows the defaults',
      errorClass: 'config',
    });
    this.name = 'ConfigError';
    this.problems = problems;
    this.source = source;
  }
}

function formatValue(value: unknown): string {
  if (value === undefined) return '(missing)';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
