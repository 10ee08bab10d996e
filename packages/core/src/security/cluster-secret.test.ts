import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ClusterSecret, generateSecret, parseSecret, SECRET_TEXT_LENGTH, SecretFormatError } from './cluster-secret.js';

function reasonOf(text: string): string {
  try {
    parseSecret(text);
  } catch (error) {
    expect(error).toBeInstanceOf(SecretFormatError);
    expect((error as Error).message).not.toContain(text.trim() || '\u0000');
    return (error as SecretFormatError).reason;
  }
  throw new Error('expected a SecretFormatError');
}

describe('cluster secret', () => {
  it('generates distinct 32-byte secrets whose text form parses back', () => {
    const a = generateSecret();
    const b = generateSecret();
    expect(a.equals(b)).toBe(false);
    expect(a.bytes()).toHaveLength(32);
    expect(a.toText()).toMatch(/^clsec1_[A-Za-z0-9_-]{48}$/);
    expect(a.toText()).toHaveLength(SECRET_TEXT_LENGTH);
    expect(parseSecret(a.toText()).equals(a)).toBe(true);
    expect(parseSecret(`  ${a.toText()}\r\n`).equals(a)).toBe(true);
  });

  it('catches a truncated, extended, altered or foreign copy', () => {
    const text = generateSecret().toText();
    expect(reasonOf('')).toBe('empty');
    expect(reasonOf('\n')).toBe('empty');
    expect(reasonOf(text.slice(0, -1))).toBe('length');
    expect(reasonOf(`${text}A`)).toBe('length');
    expect(reasonOf(text.slice(7))).toBe('prefix');
    expect(reasonOf('pUqJrVyVRj5jsiYEkM/tFQ==')).toBe('prefix');
    expect(reasonOf(`${text.slice(0, 20)}+${text.slice(21)}`)).toBe('encoding');
    expect(reasonOf(`${text.slice(0, 10)} ${text.slice(10)}`)).toBe('encoding');
    const i = 30;
    const changed = `${text.slice(0, i)}${text[i] === 'A' ? 'B' : 'A'}${text.slice(i + 1)}`;
    expect(reasonOf(changed)).toBe('checksum');
  });

  it('never shows its value when printed or serialised', () => {
    const secret = generateSecret();
    const text = secret.toText();
    for (const shown of [String(secret), JSON.stringify({ secret }), inspect(secret), `${secret}`]) {
      expect(shown).toContain('redacted');
      expect(shown).not.toContain(text.slice(7, 20));
    }
  });

  it('refuses key material of the wrong size', () => {
    expect(() => ClusterSecret.fromBytes(new Uint8Array(16))).toThrow('a cluster secret is 32 bytes, got 16');
  });

  it('copies its bytes in and out', () => {
    const raw = new Uint8Array(32).fill(7);
    const secret = ClusterSecret.fromBytes(raw);
    raw.fill(0);
    secret.bytes().fill(0);
    expect(secret.bytes()[0]).toBe(7);
  });
});
