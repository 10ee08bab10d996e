import { describe, expect, it } from 'vitest';
import { imageReferenceProblem, parseImageReference } from './image-reference.js';

const HEX64 = 'a'.repeat(64);

describe('parseImageReference', () => {
  it.each([
    ['consul', { path: 'consul' }],
    ['hashicorp/consul:1.20', { path: 'hashicorp/consul', tag: '1.20' }],
    ['docker.io/hashicorp/consul:1.20.1', { domain: 'docker.io', path: 'hashicorp/consul', tag: '1.20.1' }],
    ['localhost/consul', { domain: 'localhost', path: 'consul' }],
    ['localhost:5000/tools/consul:latest', { domain: 'localhost:5000', path: 'tools/consul', tag: 'latest' }],
    ['192.168.200.1:5000/consul', { domain: '192.168.200.1:5000', path: 'consul' }],
    ['[fd00::1]:5000/consul:v1', { domain: '[fd00::1]:5000', path: 'consul', tag: 'v1' }],
    [`hashicorp/consul@sha256:${HEX64}`, { path: 'hashicorp/consul', digest: `sha256:${HEX64}` }],
    [`hashicorp/consul:1.20@sha256:${HEX64}`, { path: 'hashicorp/consul', tag: '1.20', digest: `sha256:${HEX64}` }],
    ['my_org/con--sul__x.y:Tag_1', { path: 'my_org/con--sul__x.y', tag: 'Tag_1' }],
    ['Registry/consul', { domain: 'Registry', path: 'consul' }],
  ])('%s', (text, expected) => {
    expect(parseImageReference(text)).toEqual(expected);
    expect(imageReferenceProblem(text)).toBeUndefined();
  });

  it.each([
    ['', 'must not be empty'],
    ['hashicorp/consul:1.20\nlabel=x', 'must not contain control characters'],
    ['Hashicorp/Consul', 'repository name must be lower-case'],
    ['consul:', 'has an invalid tag'],
    ['consul:-x', 'has an invalid tag'],
    [`consul:${'a'.repeat(129)}`, 'has an invalid tag'],
    ['consul@sha256:abc', 'has an invalid digest'],
    ['consul@', 'has an invalid digest'],
    ['consul image', 'is not an image reference'],
    ['-consul', 'is not an image reference'],
    ['hashicorp//consul', 'is not an image reference'],
    ['hashicorp/consul/', 'is not an image reference'],
    ['consul_', 'is not an image reference'],
    ['con___sul', 'is not an image reference'],
    ['bad_host.local:5000/consul', 'has an invalid registry host'],
    ['registry.local:50x0/consul', 'has an invalid registry host'],
    [`x/${'a'.repeat(256)}`, 'has a repository name longer than 255 characters'],
    ['a'.repeat(1025), 'is 1025 characters long'],
  ])('refuses %j', (text, problem) => {
    expect(parseImageReference(text)).toBeUndefined();
    expect(imageReferenceProblem(text)).toContain(problem);
  });

  it('answers at once on inputs that make backtracking parsers hang', () => {
    const started = performance.now();
    for (const text of [`${'a'.repeat(200)}!`, `${'a-'.repeat(100)}!`, `${'a.'.repeat(100)}/!`, `x/${'a_'.repeat(120)}_`]) {
      expect(imageReferenceProblem(text)).toBeDefined();
    }
    expect(performance.now() - started).toBeLessThan(200);
  });
});
