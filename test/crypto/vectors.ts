import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export function hex(text: string): Uint8Array {
  return Uint8Array.from(Buffer.from(text, 'hex'));
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

export function loadVectors<T>(name: string): { source: string; tests: T[] } {
  return JSON.parse(readFileSync(join(__dirname, '..', 'vectors', name), 'utf8')) as { source: string; tests: T[] };
}
