/**
 * Store keys as file names that are safe everywhere: lowercase letters, digits, `-` and `_` stay;
 * an uppercase letter becomes `^` + its lowercase (ids are case-sensitive base64url, but macOS and
 * Windows file systems are not); every other UTF-8 byte becomes `%XX`. A name therefore never
 * starts with `.`, which leaves that prefix to temporary files.
 */

const MAX_NAME_BYTES = 255;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

function isVerbatim(byte: number): boolean {
  return (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x30 && byte <= 0x39) || byte === 0x2d || byte === 0x5f;
}

/** @throws TypeError when the key is empty or its name would exceed 255 bytes. */
export function fileNameForKey(key: string): string {
  if (key.length === 0) throw new TypeError('FileStore: key must not be empty');
  let name = '';
  for (const byte of encoder.encode(key)) {
    if (isVerbatim(byte)) name += String.fromCharCode(byte);
    else if (byte >= 0x41 && byte <= 0x5a) name += `^${String.fromCharCode(byte + 0x20)}`;
    else name += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  if (name.length > MAX_NAME_BYTES) throw new TypeError(`FileStore: key too long (file name of ${name.length} bytes, max ${MAX_NAME_BYTES})`);
  return name;
}

/** The key a file name stands for, or undefined for names this store did not write. */
export function keyForFileName(name: string): string | undefined {
  const bytes: number[] = [];
  for (let i = 0; i < name.length; i++) {
    const char = name[i]!;
    if (char === '^') {
      const next = name.charCodeAt(++i);
      if (!(next >= 0x61 && next <= 0x7a)) return undefined;
      bytes.push(next - 0x20);
    } else if (char === '%') {
      const hex = name.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      const code = char.charCodeAt(0);
      if (!isVerbatim(code)) return undefined;
      bytes.push(code);
    }
  }
  if (bytes.length === 0) return undefined;
  try {
    return decoder.decode(new Uint8Array(bytes));
  } catch {
    return undefined;
  }
}
