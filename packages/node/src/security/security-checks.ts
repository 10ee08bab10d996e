import {
  type Check,
  consulSecrets,
  fail,
  OPEN_SECURITY_HINT,
  OPEN_SECURITY_WARNING,
  pass,
  secretFileProblem,
  skip,
  warn,
} from '@cluster-lab/core';
import type { NodeFacts } from '../node-facts.js';

/** The Consul KV key issue 14's attacker reads first: the Swarm manager join token. */
const MANAGER_TOKEN_KV_KEY = 'cluster-lab/swarm/tokens/manager';

/**
 * The security checks of `cluster-lab health`: the cluster secret (a WARN on every run with
 * `security: open`; a FAIL with the fix when the file is unusable), and on a started node that
 * its Consul refuses anonymous requests and encrypts its gossip.
 */
export function securityChecks(node: NodeFacts, running: boolean): Check[] {
  const { config } = node;
  const checks: Check[] = [
    {
      id: 'cluster-secret',
      title: 'cluster secret',
      run: async () => {
        if (config.security === 'open') return warn(OPEN_SECURITY_WARNING, OPEN_SECURITY_HINT);
        const problem = await secretFileProblem(config.secretFile);
        if (problem) return fail(`secretFile ${problem.value} ${problem.message}`, problem.hint);
        return pass(`${config.secretFile}, fingerprint ${node.keys?.fingerprint ?? '(not loaded)'}`);
      },
    },
  ];
  if (config.consul.enabled) {
    checks.push({
      id: 'consul-security',
      title: 'Consul refuses anonymous requests and encrypts its gossip',
      run: async () => {
        if (!running) return skip('node not started');
        const secrets = consulSecrets(config, node.keys);
        if (!secrets.token && !secrets.encrypt) return skip('security: open and no consul.aclToken/encrypt');
        const anonymous = node.localConsul({ timeoutMs: 3000 });
        const problems: string[] = [];
        try {
          // localConsul carries the management token; this request must go without one.
          const answered = await anonymous
            .request('kv.get', 'GET', `/kv/${MANAGER_TOKEN_KV_KEY}`, { token: '' })
            .then(() => true)
            .catch((error: { code?: string }) => (error.code === 'CONSUL_PERMISSION_DENIED' ? false : Promise.reject(error)));
          if (secrets.token && answered) problems.push(`an anonymous read of ${MANAGER_TOKEN_KV_KEY} was answered (ACLs off?)`);
          const self = await anonymous.request<{ Stats?: { serf_lan?: { encrypted?: string } } }>('agent.self', 'GET', '/agent/self');
          if (secrets.encrypt && self.Stats?.serf_lan?.encrypted !== 'true') problems.push('gossip is not encrypted');
        } finally {
          anonymous.close();
        }
        if (problems.length > 0) {
          return fail(
            problems.join('; '),
            'the agent runs with an old config: run `cluster-lab stop` and `cluster-lab start` on this node',
          );
        }
        return pass(
          [secrets.token ? 'anonymous reads refused (ACL default deny)' : undefined, secrets.encrypt ? 'gossip encrypted' : undefined]
            .filter(Boolean)
            .join(', '),
        );
      },
    });
  }
  return checks;
}
