// Visit passes (docs/signed-tokens.md): `HCP1.<payload>.<signature>`, SM2 with SM3 and the ID
// 1234567812345678 over `HCP1.<payload>`. The pass page checks its own pass with the published
// key, so a patient sees before queueing whether the kiosk will accept it offline.

import { base64urlDecode, sm2Verify } from './sync-protocol.mjs';

const strictUTF8 = new TextDecoder('utf-8', { fatal: true });

/** The claims of a token, unverified (for display only), or null when it is not HCP1. */
export function passClaims(token) {
  const parts = typeof token === 'string' ? token.split('.') : [];
  if (parts.length !== 3 || parts[0] !== 'HCP1') return null;
  const payload = base64urlDecode(parts[1]);
  if (!payload) return null;
  try {
    const claims = JSON.parse(strictUTF8.decode(payload));
    return claims && typeof claims === 'object' && !Array.isArray(claims) ? claims : null;
  } catch {
    return null;
  }
}

/**
 * Verifies a visit pass with the published keys (`{kid: publicKeyPem}`) as of unix seconds
 * `now`: `{valid: true, claims}` or `{valid: false, reason}` with reason `malformed`,
 * `unknown_key`, `invalid_signature`, `wrong_type`, `not_yet_valid` or `expired`.
 */
export function verifyPass(token, keys, now = Math.floor(Date.now() / 1000)) {
  const claims = passClaims(token);
  if (!claims) return { valid: false, reason: 'malformed' };
  const [, payload, signatureText] = token.split('.');
  const pem = keys[claims.kid];
  if (!pem) return { valid: false, reason: 'unknown_key' };
  const signature = base64urlDecode(signatureText);
  if (!signature || !sm2Verify(pem, `HCP1.${payload}`, signature)) return { valid: false, reason: 'invalid_signature' };
  if (claims.typ !== 'visit') return { valid: false, reason: 'wrong_type' };
  if (typeof claims.nbf === 'number' && now < claims.nbf) return { valid: false, reason: 'not_yet_valid', claims };
  if (typeof claims.exp !== 'number' || now >= claims.exp) return { valid: false, reason: 'expired', claims };
  return { valid: true, claims };
}
