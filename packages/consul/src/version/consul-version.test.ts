import { describe, expect, it } from 'vitest';
import { consulVersionAtLeast, formatConsulVersion, parseConsulVersion, requireSupportedConsul } from './consul-version.js';

describe('parseConsulVersion', () => {
  it('reads every form agents, packages and images report', () => {
    const forms: Array<[string, string]> = [
      ['Consul v1.8.7\nProtocol 2 spoken by default, understands 2 to 3\n', '1.8.7'],
      ['{\n   "Version": "1.8.7",\n   "Revision": "",\n   "Prerelease": ""\n}', '1.8.7'],
      ['{"Version":"1.20.0","Revision":"fake","Prerelease":"fake"}', '1.20.0-fake'],
      ['v1.20.1', '1.20.1'],
      ['1.21.0-ent', '1.21.0-ent'],
      ['1.8.7+dfsg1-2+b3', '1.8.7'],
      ['1.20', '1.20.0'],
    ];
    for (const [text, want] of forms) expect(formatConsulVersion(parseConsulVersion(text))).toBe(want);
    expect(parseConsulVersion('1.20', 'tag of image hashicorp/consul:1.20').source).toBe('tag of image hashicorp/consul:1.20');
  });

  it('says where it looked when there is no version', () => {
    expect(() => parseConsulVersion('Usage: consul [--version]', 'consul version')).toThrow(
      expect.objectContaining({
        code: 'CONSUL_VERSION_UNKNOWN',
        message: 'cannot tell the Consul version from consul version: "Usage: consul [--version]"',
      }),
    );
    expect(() => parseConsulVersion('{"Revision":"x"}')).toThrow(expect.objectContaining({ code: 'CONSUL_VERSION_UNKNOWN' }));
  });
});

describe('consulVersionAtLeast / requireSupportedConsul', () => {
  it('compares major, minor, patch; a pre-release counts as its release', () => {
    const v = parseConsulVersion('1.11.0-beta1');
    expect(consulVersionAtLeast(v, 1, 11)).toBe(true);
    expect(consulVersionAtLeast(v, 1, 11, 1)).toBe(false);
    expect(consulVersionAtLeast(parseConsulVersion('2.0.0'), 1, 30)).toBe(true);
    expect(consulVersionAtLeast(parseConsulVersion('1.8.7'), 1, 9)).toBe(false);
  });

  it('refuses < 1.8 with CONSUL_TOO_OLD naming the version, its source and the fix', () => {
    expect(requireSupportedConsul(parseConsulVersion('Consul v1.8.0')).minor).toBe(8);
    expect(() => requireSupportedConsul(parseConsulVersion('Consul v1.7.14', '/usr/bin/consul version'), 'consul.binary')).toThrow(
      expect.objectContaining({
        code: 'CONSUL_TOO_OLD',
        errorClass: 'dependency',
        message: 'consul.binary is Consul 1.7.14 (from /usr/bin/consul version); Cluster Lab needs Consul 1.8 or newer',
        hint: expect.stringContaining('cluster-lab dependencies --install'),
      }),
    );
  });
});
