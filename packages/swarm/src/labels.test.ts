import { describe, expect, it } from 'vitest';
import { ARCH_LABEL, assertUserLabels, desiredLabels, mergeLabels, ROLE_LABEL } from './labels.js';

describe('labels', () => {
  it('derives role and arch labels next to user labels', () => {
    expect(desiredLabels({ role: 'leader', arch: 'aarch64', user: { storage: 'ssd' } })).toEqual({
      storage: 'ssd',
      [ROLE_LABEL]: 'leader',
      [ARCH_LABEL]: 'aarch64',
    });
    expect(desiredLabels({ role: 'follower' })).toEqual({ 'cluster-lab.role': 'follower' });
  });
  it('merges without dropping hand-set labels and reports "no change" as undefined', () => {
    expect(mergeLabels({ manual: 'x', [ROLE_LABEL]: 'follower' }, { [ROLE_LABEL]: 'leader' })).toEqual({
      manual: 'x',
      [ROLE_LABEL]: 'leader',
    });
    expect(mergeLabels({ manual: 'x', [ROLE_LABEL]: 'leader' }, { [ROLE_LABEL]: 'leader' })).toBeUndefined();
    expect(mergeLabels(undefined, { a: 'b' })).toEqual({ a: 'b' });
  });
  it('rejects reserved and malformed user label keys', () => {
    expect(() => assertUserLabels({ 'cluster-lab.role': 'x' })).toThrow(
      'swarm.labels key "cluster-lab.role" uses the reserved prefix "cluster-lab."',
    );
    expect(() => assertUserLabels({ Storage: 'ssd' })).toThrow('swarm.labels key "Storage" is invalid');
    expect(() => assertUserLabels({ storage: 'ssd', 'hypriot.arch': 'armv7l' })).not.toThrow();
  });
});
