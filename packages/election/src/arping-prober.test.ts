import { FakeRunner } from '@cluster-lab/core';
import { describe, expect, it } from 'vitest';
import { ArpingProber, detectArpingFlavour, parseArpingReplies } from './arping-prober.js';

// Output captured from Debian's arping 2.23 (Habets) in a namespace lab.
const HABETS_VERSION =
  "arping: option requires an argument -- 'V'\nARPing 2.23, by Thomas Habets <thomas@habets.se>\nusage: arping [ -0aAbdDeFpPqrRuUvzZ ] …";
const HABETS_REPLY = `ARPING 192.168.200.1
42 bytes from 56:54:3b:33:68:a7 (192.168.200.1): index=0 time=9.073 usec
42 bytes from 56:54:3b:33:68:a7 (192.168.200.1): index=1 time=7.160 usec
42 bytes from 62:8b:32:cb:1c:a0 (192.168.200.1): index=2 time=7.160 usec

--- 192.168.200.1 statistics ---
3 packets transmitted, 3 packets received,   0% unanswered (0 extra)
rtt min/avg/max/std-dev = 0.007/0.008/0.009/0.001 ms
`;
const HABETS_SILENT = `ARPING 192.168.200.1
Timeout
Timeout
Timeout

--- 192.168.200.1 statistics ---
3 packets transmitted, 0 packets received, 100% unanswered (0 extra)

`;
// iputils-arping's format (arping(8) of iputils 20221126).
const IPUTILS_REPLY = `ARPING 192.168.200.1 from 0.0.0.0 eth0
Unicast reply from 192.168.200.1 [56:54:3B:33:68:A7]  0.602ms
Sent 1 probes (1 broadcast(s))
Received 1 response(s)
`;

describe('detectArpingFlavour', () => {
  it('tells Habets from iputils', () => {
    expect(detectArpingFlavour(HABETS_VERSION)).toBe('habets');
    expect(detectArpingFlavour('arping from iputils 20221126')).toBe('iputils');
    expect(detectArpingFlavour('something else')).toBeUndefined();
  });
});

describe('parseArpingReplies', () => {
  it('lists each distinct MAC that answered for the address, in either format', () => {
    expect(parseArpingReplies(HABETS_REPLY, '192.168.200.1')).toEqual([{ mac: '56:54:3b:33:68:a7' }, { mac: '62:8b:32:cb:1c:a0' }]);
    expect(parseArpingReplies(IPUTILS_REPLY, '192.168.200.1')).toEqual([{ mac: '56:54:3b:33:68:a7' }]);
    expect(parseArpingReplies(HABETS_SILENT, '192.168.200.1')).toEqual([]);
    expect(parseArpingReplies(HABETS_REPLY, '192.168.200.2')).toEqual([]);
  });
});

describe('ArpingProber', () => {
  it('detects the flavour once and probes with Habets flags (exit 1 = no reply is not an error)', async () => {
    const runner = new FakeRunner()
      .on('arping', ['-V'], { stderr: HABETS_VERSION, exitCode: 1 })
      // FakeRunner answers from the latest matching entry first.
      .once('arping', { prefix: ['-0'] }, { stdout: HABETS_REPLY })
      .once('arping', { prefix: ['-0'] }, { stdout: HABETS_SILENT, exitCode: 1 });
    const prober = new ArpingProber({ runner });
    expect(await prober.probe('192.168.200.1', 'eth0.200', { stopAtFirst: true })).toEqual([]);
    expect(await prober.probe('192.168.200.1', 'eth0.200')).toHaveLength(2);
    expect(runner.commands()).toEqual([
      'arping -V',
      'arping -0 -c 3 -W 0.1 -w 0.35 -C 1 -i eth0.200 192.168.200.1',
      'arping -0 -c 3 -W 0.1 -w 0.35 -i eth0.200 192.168.200.1',
    ]);
  });

  it('uses iputils flags and parses its replies regardless of its inverted -D exit code', async () => {
    const runner = new FakeRunner()
      .on('arping', ['-V'], { stdout: 'arping from iputils 20221126' })
      .on('arping', { prefix: ['-D'] }, { stdout: IPUTILS_REPLY, exitCode: 1 })
      .on(
        'arping',
        { prefix: ['-U'] },
        { stdout: 'ARPING 192.168.200.1 from 192.168.200.1 eth0\nSent 1 probes (1 broadcast(s))\nReceived 0 response(s)\n' },
      );
    const prober = new ArpingProber({ runner });
    expect(await prober.probe('192.168.200.1', 'eth0')).toEqual([{ mac: '56:54:3b:33:68:a7' }]);
    expect(await prober.probe('192.168.200.1', 'eth0', { stopAtFirst: true })).toEqual([{ mac: '56:54:3b:33:68:a7' }]);
    await prober.announce('192.168.200.1', 'eth0');
    expect(runner.commands()).toEqual([
      'arping -V',
      'arping -D -c 3 -w 1 -I eth0 192.168.200.1',
      'arping -D -f -c 3 -w 1 -I eth0 192.168.200.1',
      'arping -U -c 1 -I eth0 -s 192.168.200.1 192.168.200.1',
    ]);
  });

  it('announces with a Habets unsolicited ARP', async () => {
    const runner = new FakeRunner().on('arping', { prefix: ['-U'] }, { stdout: HABETS_SILENT, exitCode: 1 });
    await new ArpingProber({ runner, flavour: 'habets' }).announce('192.168.200.1', 'eth0');
    expect(runner.commands()).toEqual(['arping -U -c 1 -w 0.1 -i eth0 -S 192.168.200.1 192.168.200.1']);
  });

  it('fails loudly when arping sent nothing, instead of reading silence as "address free"', async () => {
    const runner = new FakeRunner().on(
      'arping',
      { prefix: ['-0'] },
      { stderr: 'arping: libnet_init(eth9): ioctl: No such device', exitCode: 1 },
    );
    const prober = new ArpingProber({ runner, flavour: 'habets' });
    await expect(prober.probe('192.168.200.1', 'eth9')).rejects.toMatchObject({
      code: 'ARPING_FAILED',
      message:
        '`arping -0 -c 3 -W 0.1 -w 0.35 -i eth9 192.168.200.1` sent no ARP on "eth9" (exit 1): arping: libnet_init(eth9): ioctl: No such device',
    });
  });

  it('reports a missing arping as a dependency error', async () => {
    const runner = new FakeRunner().on('arping', ['-V'], { notFound: true });
    await expect(new ArpingProber({ runner }).probe('192.168.200.1', 'eth0')).rejects.toMatchObject({
      code: 'ARPING_FAILED',
      errorClass: 'dependency',
      hint: 'install it: apt-get install arping',
    });
  });

  it('rejects an unknown arping and invalid arguments', async () => {
    const unknown = new FakeRunner().on('arping', ['-V'], { stdout: 'arping 0.1 homebrew' });
    await expect(new ArpingProber({ runner: unknown }).probe('192.168.200.1', 'eth0')).rejects.toMatchObject({ code: 'ARPING_UNKNOWN' });
    const prober = new ArpingProber({ runner: new FakeRunner(), flavour: 'habets' });
    await expect(prober.probe('192.168.200.300', 'eth0')).rejects.toThrow('address "192.168.200.300"');
    await expect(prober.probe('192.168.200.1', 'eth 0')).rejects.toThrow('interface name "eth 0"');
  });
});
