// RFC 6238 time-based one-time passwords (HMAC-SHA-1, 6 digits, 30-second steps), as staff
// authenticator apps compute them. Used by the journey test to sign the kiosk and the doctor
// in; a kiosk app would hold its secret the same way.

import { createHmac } from 'node:crypto';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 (case-insensitive, '=' padding and spaces ignored) → bytes. */
export function base32Decode(text) {
  const bytes = [];
  let buffer = 0;
  let bits = 0;
  for (const char of text.toUpperCase().replace(/[=\s]/g, '')) {
    const value = BASE32.indexOf(char);
    if (value < 0) throw new Error(`base32: unexpected character ${JSON.stringify(char)}`);
    buffer = ((buffer << 5) | value) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((buffer >> bits) & 0xff);
    }
  }
  return Buffer.from(bytes);
}

/** The step counter of unix seconds `at`. */
export const totpCounter = (at = Date.now() / 1000, period = 30) => Math.floor(at / period);

/** The HOTP code (RFC 4226) of `counter` for a secret (bytes, or base32 text). */
export function hotp(secret, counter, digits = 6) {
  const key = typeof secret === 'string' ? base32Decode(secret) : secret;
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', key).update(message).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 10 ** digits).padStart(digits, '0');
}

/** The TOTP code (RFC 6238) at unix seconds `at` (default: now). */
export function totp(secret, at = Date.now() / 1000, { period = 30, digits = 6 } = {}) {
  return hotp(secret, totpCounter(at, period), digits);
}
