// HealthCloud sync protocol v1 for JavaScript clients (SyncProtocol/SPEC.md): canonical JSON,
// the mutation body digest, cursor tokens, the page digest, checkpoint verification (SM2 with
// SM3 and the distinguishing ID 1234567812345678) and a small in-memory client store.
//
// No npm packages. SM3 comes from node:crypto (createHash('sm3')); SM2 verification is done
// here with BigInt because node's crypto.verify uses OpenSSL 3.0's default EMPTY SM2 ID and
// cannot be given 1234567812345678. A mini-program runtime has no node:crypto: swap `sm3`
// below for a pure-JS SM3 there (the vectors in SyncProtocol/vectors/ check either).

import { createHash } from 'node:crypto';

export const PROTOCOL_VERSION = 1;
export const SCHEMA_VERSION = 1;
export const SM2_DEFAULT_ID = '1234567812345678';
export const CHECKPOINT_PREFIX = 'HCSYNC1:';

const utf8Encoder = new TextEncoder();
const strictUTF8 = new TextDecoder('utf-8', { fatal: true });

/** @param {string | Uint8Array} data */
const bytesOf = (data) => (typeof data === 'string' ? utf8Encoder.encode(data) : data);

/** Lower-case hex SM3 of a string (as UTF-8) or bytes. */
export function sm3Hex(data) {
  return createHash('sm3').update(bytesOf(data)).digest('hex');
}

function sm3Bytes(data) {
  return new Uint8Array(createHash('sm3').update(bytesOf(data)).digest());
}

// ---------------------------------------------------------------- canonical JSON

/**
 * Canonical JSON (SPEC.md §6, RFC 8785 restricted to record values): keys sorted by UTF-16
 * code units (Array#sort's default order), no whitespace, strings as JSON.stringify writes
 * them, integers in decimal. Object keys are never emitted in insertion order: JS enumerates
 * integer-like keys ("2", "10") numerically, which is not the canonical order.
 * Throws on fractional numbers (they travel as decimal strings), non-finite numbers, undefined,
 * functions and symbols, so a digest can never silently differ from the server's.
 */
export function canonicalJSON(value) {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    case 'bigint':
      return value.toString();
    case 'number':
      if (!Number.isFinite(value) || !Number.isInteger(value)) {
        throw new TypeError(`canonical JSON: ${value} is not an integer (fractions travel as decimal strings)`);
      }
      if (!Number.isSafeInteger(value)) throw new RangeError(`canonical JSON: ${value} is beyond 2^53 - 1`);
      return String(value); // -0 → "0"
    case 'object':
      if (Array.isArray(value)) return '[' + value.map(canonicalJSON).join(',') + ']';
      return '{' + Object.keys(value).sort().map((key) => JSON.stringify(key) + ':' + canonicalJSON(value[key])).join(',') + '}';
    default:
      throw new TypeError(`canonical JSON: a ${typeof value} is not JSON`);
  }
}

// ---------------------------------------------------------------- base64url

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const B64URL_VALUES = new Map([...B64URL].map((char, index) => [char, index]));

/** base64url without padding. */
export function base64urlEncode(data) {
  const bytes = bytesOf(data);
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = Math.min(4, Math.ceil(((bytes.length - i) * 8) / 6));
    for (let j = 0; j < chars; j++) out += B64URL[(n >> (18 - 6 * j)) & 63];
  }
  return out;
}

/**
 * Strict base64url without padding: null for any other character ('=', '+', '/', whitespace),
 * a length of 4k+1, or non-zero unused bits in the last character.
 */
export function base64urlDecode(text) {
  if (typeof text !== 'string' || text.length % 4 === 1) return null;
  const values = [];
  for (const char of text) {
    const value = B64URL_VALUES.get(char);
    if (value === undefined) return null;
    values.push(value);
  }
  const rest = values.length % 4;
  if (rest === 2 && (values.at(-1) & 0x0f) !== 0) return null;
  if (rest === 3 && (values.at(-1) & 0x03) !== 0) return null;
  const out = new Uint8Array(Math.floor((values.length * 6) / 8));
  let bits = 0;
  let buffer = 0;
  let index = 0;
  for (const value of values) {
    buffer = (buffer << 6) | value;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[index++] = (buffer >> bits) & 0xff;
      buffer &= (1 << bits) - 1;
    }
  }
  return out;
}

// ---------------------------------------------------------------- digests and cursor

/** SM3 of the canonical {name, args}: the server refuses the same id with another body. */
export function mutationBodyDigest({ name, args }) {
  return sm3Hex(canonicalJSON({ name, args }));
}

/** The fields a change contributes to the digest (as the Swift `Change` does). */
const changeValue = ({ collection, id, op, version, data }) => ({ collection, id, op, version, data: data ?? null });

/** SM3 (hex) of the canonical {changes, cursor, lastMutationId, reset} of a pull response. */
export function pageDigest({ changes, cursor, lastMutationId, reset }) {
  return sm3Hex(canonicalJSON({ changes: changes.map(changeValue), cursor, lastMutationId, reset }));
}

/**
 * The token a server issues for {v, n, g, s, e?, m?} (e: history epoch, m: a reset snapshot's
 * starting mark). Clients never build tokens; this is for tests.
 */
export function encodeCursor({ v = 1, n, g, s = SCHEMA_VERSION, e, m }) {
  return base64urlEncode(canonicalJSON({ v, n, g, s, ...(e === undefined ? {} : { e }), ...(m === undefined ? {} : { m }) }));
}

/**
 * What a cursor token says, or null when it is unreadable (a server answers that with a reset).
 * Clients treat cursors as opaque; this exists for tests and diagnostics.
 */
export function decodeCursor(token) {
  const bytes = base64urlDecode(token);
  if (bytes === null) return null;
  let value;
  try {
    value = JSON.parse(strictUTF8.decode(bytes));
  } catch {
    return null;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  // Members a server does not know are ignored (SPEC.md §2); absent e and m stay absent.
  const { v, n, g, s, e, m } = value;
  if (v !== 1 || !Number.isSafeInteger(n) || n < 0 || typeof g !== 'string' || !Number.isSafeInteger(s)) return null;
  if ((e !== undefined && e !== null && typeof e !== 'string') || (m !== undefined && m !== null && (!Number.isSafeInteger(m) || m < 0))) return null;
  return { v, n, g, s, ...(typeof e === 'string' ? { e } : {}), ...(Number.isSafeInteger(m) ? { m } : {}) };
}

// ---------------------------------------------------------------- SM2 verification

// GB/T 32918.5 curve sm2p256v1.
const P = 0xfffffffeffffffffffffffffffffffffffffffff00000000ffffffffffffffffn;
const A = 0xfffffffeffffffffffffffffffffffffffffffff00000000fffffffffffffffcn;
const B = 0x28e9fa9e9d9f5e344d5a9e4bcf6509a7f39789f515ab8f92ddbcbd414d940e93n;
const N = 0xfffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123n;
const GX = 0x32c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7n;
const GY = 0xbc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0n;

const mod = (a, m = P) => ((a % m) + m) % m;

function invert(a, m = P) {
  let [low, high, x0, x1] = [mod(a, m), m, 1n, 0n];
  while (low > 1n) {
    const q = high / low;
    [low, high] = [high - q * low, low];
    [x0, x1] = [x1 - q * x0, x0];
  }
  return mod(x0, m);
}

// Jacobian points [X, Y, Z]; Z = 0 is the point at infinity.
const INFINITY = [1n, 1n, 0n];

function double([X, Y, Z]) {
  if (Z === 0n || Y === 0n) return INFINITY;
  const YY = mod(Y * Y);
  const S = mod(4n * X * YY);
  const ZZ = mod(Z * Z);
  const M = mod(3n * X * X + A * ZZ * ZZ);
  const X3 = mod(M * M - 2n * S);
  return [X3, mod(M * (S - X3) - 8n * YY * YY), mod(2n * Y * Z)];
}

function add(p1, p2) {
  if (p1[2] === 0n) return p2;
  if (p2[2] === 0n) return p1;
  const [X1, Y1, Z1] = p1;
  const [X2, Y2, Z2] = p2;
  const Z1Z1 = mod(Z1 * Z1);
  const Z2Z2 = mod(Z2 * Z2);
  const U1 = mod(X1 * Z2Z2);
  const U2 = mod(X2 * Z1Z1);
  const S1 = mod(Y1 * Z2 * Z2Z2);
  const S2 = mod(Y2 * Z1 * Z1Z1);
  if (U1 === U2) return S1 === S2 ? double(p1) : INFINITY;
  const H = mod(U2 - U1);
  const R = mod(S2 - S1);
  const HH = mod(H * H);
  const HHH = mod(H * HH);
  const X3 = mod(R * R - HHH - 2n * U1 * HH);
  return [X3, mod(R * (U1 * HH - X3) - S1 * HHH), mod(H * Z1 * Z2)];
}

/** k1·P1 + k2·P2 (Shamir's trick); affine [x, y] or null for infinity. */
function doubleMultiply(k1, P1, k2, P2) {
  const both = add(P1, P2);
  let acc = INFINITY;
  for (let bit = BigInt(Math.max(k1.toString(2).length, k2.toString(2).length) - 1); bit >= 0n; bit--) {
    acc = double(acc);
    const b1 = (k1 >> bit) & 1n;
    const b2 = (k2 >> bit) & 1n;
    if (b1 && b2) acc = add(acc, both);
    else if (b1) acc = add(acc, P1);
    else if (b2) acc = add(acc, P2);
  }
  if (acc[2] === 0n) return null;
  const zInv = invert(acc[2]);
  const zInv2 = mod(zInv * zInv);
  return [mod(acc[0] * zInv2), mod(acc[1] * zInv2 * zInv)];
}

const isOnCurve = (x, y) => x < P && y < P && mod(y * y - (x * x * x + A * x + B)) === 0n;

const toHex = (bytes) => Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
const bigIntOf = (bytes) => (bytes.length ? BigInt('0x' + toHex(bytes)) : 0n);

function be32(value) {
  const out = new Uint8Array(32);
  for (let i = 31; i >= 0; i--, value >>= 8n) out[i] = Number(value & 0xffn);
  return out;
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

// Minimal strict DER reader: [tag, contents, rest] or null.
function derRead(bytes) {
  if (bytes.length < 2) return null;
  const tag = bytes[0];
  let length = bytes[1];
  let offset = 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 2 || bytes.length < 2 + count) return null;
    length = 0;
    for (let i = 0; i < count; i++) length = (length << 8) | bytes[2 + i];
    if (length < 0x80 || (count === 2 && length < 0x100)) return null; // not minimal
    offset += count;
  }
  if (bytes.length < offset + length) return null;
  return [tag, bytes.subarray(offset, offset + length), bytes.subarray(offset + length)];
}

const OID_EC_PUBLIC_KEY = '2a8648ce3d0201'; // 1.2.840.10045.2.1
const OID_SM2 = '2a811ccf5501822d'; // 1.2.156.10197.1.301

/** An SM2 public key from SubjectPublicKeyInfo PEM (`BEGIN PUBLIC KEY`): {x, y} as BigInt. */
export function parseSM2PublicKeyPem(pem) {
  const body = pem.replace(/-----(BEGIN|END) PUBLIC KEY-----/g, '').replace(/\s+/g, '');
  const der = base64urlDecode(body.replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_'));
  const spki = der && derRead(der);
  if (!spki || spki[0] !== 0x30 || spki[2].length) throw new Error('SM2 public key: not a SubjectPublicKeyInfo');
  const algorithm = derRead(spki[1]);
  if (!algorithm || algorithm[0] !== 0x30) throw new Error('SM2 public key: no algorithm');
  const keyOID = derRead(algorithm[1]);
  const curveOID = keyOID && derRead(keyOID[2]);
  if (!curveOID || keyOID[0] !== 0x06 || curveOID[0] !== 0x06 || toHex(keyOID[1]) !== OID_EC_PUBLIC_KEY || toHex(curveOID[1]) !== OID_SM2) {
    throw new Error('SM2 public key: not an EC key on the SM2 curve');
  }
  const bitString = derRead(algorithm[2]);
  if (!bitString || bitString[0] !== 0x03 || bitString[1].length !== 66 || bitString[1][0] !== 0 || bitString[1][1] !== 0x04) {
    throw new Error('SM2 public key: not an uncompressed point');
  }
  const x = bigIntOf(bitString[1].subarray(2, 34));
  const y = bigIntOf(bitString[1].subarray(34, 66));
  if (!isOnCurve(x, y)) throw new Error('SM2 public key: not a point on the curve');
  return { x, y };
}

/** r and s of a strict-DER SM2 signature, or null. */
function parseDERSignature(der) {
  const sequence = derRead(der);
  if (!sequence || sequence[0] !== 0x30 || sequence[2].length) return null;
  const r = derRead(sequence[1]);
  const s = r && derRead(r[2]);
  if (!s || r[0] !== 0x02 || s[0] !== 0x02 || s[2].length) return null;
  for (const integer of [r[1], s[1]]) {
    if (integer.length === 0 || integer[0] & 0x80) return null; // empty or negative
    if (integer.length > 1 && integer[0] === 0 && !(integer[1] & 0x80)) return null; // not minimal
  }
  return { r: bigIntOf(r[1]), s: bigIntOf(s[1]) };
}

/**
 * GB/T 32918.2 verification of a DER signature over `message` (string as UTF-8, or bytes) with
 * SM3 and the distinguishing ID. `publicKey`: PEM or the {x, y} of parseSM2PublicKeyPem.
 */
export function sm2Verify(publicKey, message, derSignature, id = SM2_DEFAULT_ID) {
  const { x, y } = typeof publicKey === 'string' ? parseSM2PublicKeyPem(publicKey) : publicKey;
  const signature = parseDERSignature(bytesOf(derSignature));
  if (!signature) return false;
  const { r, s } = signature;
  if (r < 1n || r >= N || s < 1n || s >= N) return false;
  const idBytes = bytesOf(id);
  const entl = idBytes.length * 8;
  const z = sm3Bytes(concat(new Uint8Array([(entl >> 8) & 0xff, entl & 0xff]), idBytes, be32(A), be32(B), be32(GX), be32(GY), be32(x), be32(y)));
  const e = bigIntOf(sm3Bytes(concat(z, bytesOf(message))));
  const t = mod(r + s, N);
  if (t === 0n) return false;
  const point = doubleMultiply(s, [GX, GY, 1n], t, [x, y, 1n]);
  return point !== null && mod(e + point[0], N) === r;
}

/** The bytes the server signs for a page digest. */
export const checkpointMessage = (digest) => CHECKPOINT_PREFIX + digest;

/**
 * Whether a pull response is what the server signed (SPEC.md §6): the recomputed digest equals
 * checkpoint.digest and checkpoint.signature verifies with the key published under its kid.
 */
export function verifyCheckpoint(page, publicKey) {
  const checkpoint = page.checkpoint;
  if (!checkpoint || typeof checkpoint.digest !== 'string' || typeof checkpoint.signature !== 'string') return false;
  if (pageDigest(page) !== checkpoint.digest) return false;
  const signature = base64urlDecode(checkpoint.signature);
  if (!signature || signature.length === 0) return false;
  return sm2Verify(publicKey, checkpointMessage(checkpoint.digest), signature);
}

// ---------------------------------------------------------------- in-memory client store

const clone = (value) => (value === undefined ? undefined : JSON.parse(JSON.stringify(value)));

/**
 * The client side of a pull (SPEC.md §3), in memory: records by collection and id, the cursor
 * and the outbox of pending mutations. A page is applied as one transaction (all or nothing).
 * Collections this client does not know are kept like any other (forward compatibility).
 */
export class MemorySyncStore {
  #records;
  #cursor;
  #outbox;

  constructor({ records = {}, cursor = null, outbox = [] } = {}) {
    this.#records = new Map(Object.entries(records).map(([collection, rows]) => [collection, new Map(Object.entries(clone(rows)))]));
    this.#cursor = cursor;
    this.#outbox = clone(outbox);
  }

  get cursor() {
    return this.#cursor;
  }

  /** Pending mutations, oldest first. */
  get outbox() {
    return clone(this.#outbox);
  }

  /** {collection: {id: data}}, without empty collections. */
  get records() {
    const out = {};
    for (const [collection, rows] of this.#records) {
      if (rows.size) out[collection] = Object.fromEntries([...rows].map(([id, data]) => [id, clone(data)]));
    }
    return out;
  }

  get(collection, id) {
    return clone(this.#records.get(collection)?.get(id));
  }

  /** Applies a pull response whose checkpoint was verified (or that carries none, in tests). */
  applyPage(page) {
    // Build the next state aside, then swap: a malformed change leaves the store untouched.
    const records = page.reset ? new Map() : new Map([...this.#records].map(([collection, rows]) => [collection, new Map(rows)]));
    for (const change of page.changes) {
      let rows = records.get(change.collection);
      if (!rows) records.set(change.collection, (rows = new Map()));
      if (change.op === 'upsert') rows.set(change.id, clone(change.data));
      else if (change.op === 'delete') rows.delete(change.id);
      else throw new Error(`unknown change op ${JSON.stringify(change.op)}`);
    }
    if (typeof page.cursor !== 'string') throw new Error('page without cursor');
    const lastMutationId = page.lastMutationId ?? 0;
    this.#records = records;
    this.#cursor = page.cursor;
    this.#outbox = this.#outbox.filter((mutation) => mutation.id > lastMutationId);
  }

  /** Verifies the checkpoint, then applies the page; false (store untouched) when it does not verify. */
  applyVerifiedPage(page, publicKey) {
    if (!verifyCheckpoint(page, publicKey)) return false;
    this.applyPage(page);
    return true;
  }
}
