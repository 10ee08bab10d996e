import { controlCharacterProblem } from './field-checks.js';

/**
 * A container image reference split into its parts, following the grammar of
 * `github.com/distribution/reference` (the parser Docker itself uses):
 *
 * ```text
 * reference        := name [ ":" tag ] [ "@" digest ]
 * name             := [domain "/"] remote-name
 * domain           := host [":" port-number]
 * host             := domain-name | "[" IPv6address "]"
 * domain-name      := domain-component ["." domain-component]*
 * domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
 * remote-name      := path-component ["/" path-component]*
 * path-component   := /[a-z0-9]+/ [separator /[a-z0-9]+/]*
 * separator        := /[_.]|__|[-]+/
 * tag              := /[\w][\w.-]{0,127}/
 * digest           := algorithm ":" /[0-9a-fA-F]{32,}/
 * ```
 *
 * Written as a small splitter plus anchored, unambiguous patterns per part instead of one big
 * regular expression: the npm ports of Docker's single regexp backtrack exponentially in
 * JavaScript (a 26-character name took 3 s in `@swimlane/docker-reference` 2.0.1).
 */
export interface ImageReference {
  /** Registry host (with port), present when the first component names one: it contains `.` or `:`, or is `localhost`. */
  domain?: string;
  /** Repository path without the domain, e.g. `hashicorp/consul`. */
  path: string;
  tag?: string;
  digest?: string;
}

/** Longest repository path the distribution grammar allows. */
export const MAX_IMAGE_PATH_LENGTH = 255;
/** Inputs longer than this are refused before any pattern runs. */
const MAX_REFERENCE_LENGTH = 1024;

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$/;
const IPV6_HOST = /^\[[a-fA-F0-9:]+\]$/;
const PORT = /^[0-9]+$/;
const TAG = /^\w[\w.-]{0,127}$/;
const DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;

/**
 * Parses an image reference such as `hashicorp/consul:1.20`,
 * `registry.local:5000/tools/consul@sha256:…`; returns undefined when it is not one
 * ({@link imageReferenceProblem} says why).
 *
 * @example
 * ```ts
 * parseImageReference('hashicorp/consul:1.20'); // { path: 'hashicorp/consul', tag: '1.20' }
 * ```
 */
export function parseImageReference(reference: string): ImageReference | undefined {
  const result = analyse(reference);
  return typeof result === 'string' ? undefined : result;
}

/**
 * Why `reference` is not a valid image reference, or undefined when it is.
 *
 * @example
 * ```ts
 * imageReferenceProblem('Hashicorp/Consul'); // 'repository name must be lower-case'
 * ```
 */
export function imageReferenceProblem(reference: string): string | undefined {
  const result = analyse(reference);
  return typeof result === 'string' ? result : undefined;
}

function analyse(reference: string): ImageReference | string {
  const control = controlCharacterProblem(reference);
  if (control) return control;
  if (reference === '') return 'must not be empty';
  if (reference.length > MAX_REFERENCE_LENGTH)
    return `is ${reference.length} characters long; an image reference is at most ${MAX_REFERENCE_LENGTH}`;
  const format = 'is not an image reference like hashicorp/consul:1.20 or registry.local:5000/consul@sha256:<hex>';

  let rest = reference;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) return 'has an invalid digest (expected e.g. sha256: and at least 32 hex digits)';
  }
  let tag: string | undefined;
  const colon = rest.indexOf(':', rest.lastIndexOf('/') + 1);
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) return 'has an invalid tag (letters, digits, _ . -, at most 128, not starting with . or -)';
  }
  const components = rest.split('/');
  const [first, ...others] = components as [string, ...string[]];
  if (!others.every((c) => PATH_COMPONENT.test(c))) return upperCaseOr(components, format);
  let domain: string | undefined;
  let path: string;
  if (others.length > 0 && isFamiliarDomain(first)) {
    if (!isDomainAndPort(first)) return 'has an invalid registry host';
    domain = first;
    path = others.join('/');
  } else if (PATH_COMPONENT.test(first)) {
    path = rest;
  } else if (others.length > 0 && isDomainAndPort(first)) {
    // Docker reads `Registry/x` as a host too: a first component with upper case is a host.
    domain = first;
    path = others.join('/');
  } else {
    return upperCaseOr(components, format);
  }
  if (path.length > MAX_IMAGE_PATH_LENGTH) return `has a repository name longer than ${MAX_IMAGE_PATH_LENGTH} characters`;
  return {
    ...(domain !== undefined ? { domain } : {}),
    path,
    ...(tag !== undefined ? { tag } : {}),
    ...(digest !== undefined ? { digest } : {}),
  };
}

/** Docker's rule for "the first component is a registry": it has a `.` or `:`, or is `localhost`. */
function isFamiliarDomain(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost';
}

function isDomainAndPort(component: string): boolean {
  const bracket = component.startsWith('[') ? component.indexOf(']') : -1;
  const portAt = bracket >= 0 ? component.indexOf(':', bracket) : component.indexOf(':');
  const host = portAt >= 0 ? component.slice(0, portAt) : component;
  const port = portAt >= 0 ? component.slice(portAt + 1) : undefined;
  if (port !== undefined && !PORT.test(port)) return false;
  if (bracket >= 0) return IPV6_HOST.test(host);
  return host.split('.').every((c) => DOMAIN_COMPONENT.test(c));
}

function upperCaseOr(components: string[], format: string): string {
  const lowered = components.map((c) => c.toLowerCase());
  return lowered.every((c) => PATH_COMPONENT.test(c)) ? 'repository name must be lower-case' : format;
}
