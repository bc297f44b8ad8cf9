// Runs every sync protocol conformance vector (SyncProtocol/vectors/*.json) against
// lib/sync-protocol.mjs. Needs no server: `node --test mini-program-stubs/test/`.

import assert from 'node:assert/strict';
import { verify as nodeVerify } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';

import {
  MemorySyncStore,
  base64urlDecode,
  base64urlEncode,
  canonicalJSON,
  checkpointMessage,
  decodeCursor,
  encodeCursor,
  mutationBodyDigest,
  pageDigest,
  sm2Verify,
  verifyCheckpoint,
} from '../lib/sync-protocol.mjs';

const vectorsDir = new URL('../../SyncProtocol/vectors/', import.meta.url);
const load = (name) => JSON.parse(readFileSync(new URL(name, vectorsDir), 'utf8'));
const RUNNERS = new Set(['canonical-json.json', 'mutation-digest.json', 'cursor.json', 'page-digest.json', 'checkpoint-signature.json', 'client-apply.json']);

test('every vector file has a runner', () => {
  const files = readdirSync(vectorsDir).filter((name) => name.endsWith('.json'));
  assert.deepEqual(files.filter((name) => !RUNNERS.has(name)), []);
  assert.deepEqual([...RUNNERS].filter((name) => !files.includes(name)), []);
});

test('canonical-json', async (t) => {
  const { cases } = load('canonical-json.json');
  assert.ok(cases.length > 0);
  for (const c of cases) {
    await t.test(c.name, () => {
      assert.equal(canonicalJSON(c.value), c.canonical);
      // The canonical text is JSON that parses back to the same value.
      assert.equal(canonicalJSON(JSON.parse(c.canonical)), c.canonical);
    });
  }
});

test('canonical-json refuses what records never carry', () => {
  assert.throws(() => canonicalJSON(93.1), TypeError);
  assert.throws(() => canonicalJSON({ a: Number.NaN }), TypeError);
  assert.throws(() => canonicalJSON([undefined]), TypeError);
  assert.throws(() => canonicalJSON(2 ** 53), RangeError);
});

test('mutation-digest', async (t) => {
  const { cases } = load('mutation-digest.json');
  for (const c of cases) {
    await t.test(c.name, () => {
      assert.equal(canonicalJSON({ name: c.mutation.name, args: c.mutation.args }), c.canonical);
      assert.equal(mutationBodyDigest(c.mutation), c.bodyDigest);
    });
  }
});

test('cursor', async (t) => {
  const { cases, unknownMembers, invalidTokens } = load('cursor.json');
  for (const c of cases) {
    await t.test(c.name, () => {
      assert.equal(encodeCursor(c.cursor), c.token);
      assert.deepEqual(decodeCursor(c.token), c.cursor);
      assert.equal(base64urlEncode(base64urlDecode(c.token)), c.token);
    });
  }
  assert.ok(unknownMembers.length > 0);
  for (const c of unknownMembers) {
    await t.test(`unknown members: ${c.name}`, () => {
      assert.deepEqual(decodeCursor(c.token), c.cursor);
    });
  }
  for (const c of invalidTokens) {
    await t.test(`invalid: ${c.name}`, () => {
      assert.equal(decodeCursor(c.token), null, c.reason);
    });
  }
});

test('page-digest', async (t) => {
  const { cases } = load('page-digest.json');
  for (const c of cases) {
    await t.test(c.name, () => {
      const { changes, cursor, lastMutationId, reset } = c.page;
      assert.equal(canonicalJSON({ changes, cursor, lastMutationId, reset }), c.canonical);
      assert.equal(pageDigest(c.page), c.digest);
    });
  }
});

test('checkpoint-signature', async (t) => {
  const vectors = load('checkpoint-signature.json');
  assert.equal(vectors.distinguishingId, '1234567812345678');
  for (const c of vectors.cases) {
    await t.test(c.name, () => {
      const page = { ...c.page, hasMore: false, checkpoint: { digest: c.digest, kid: 'test', signature: c.signature } };
      assert.equal(verifyCheckpoint(page, vectors.publicKeyPem), c.valid);
      if (c.valid) assert.equal(pageDigest(c.page), c.digest);
      // The store applies a page only when it verifies.
      const store = new MemorySyncStore({ records: { warnings: { 1: { keep: true } } } });
      assert.equal(store.applyVerifiedPage(page, vectors.publicKeyPem), c.valid);
      if (!c.valid) assert.deepEqual(store.records, { warnings: { 1: { keep: true } } });
    });
  }

  // The BigInt SM2 verifier agrees with OpenSSL (via node) where node can check it: node's
  // crypto.verify always uses the EMPTY SM2 ID, so compare on the empty-ID signature.
  await t.test('sm2 verifier agrees with node/OpenSSL for the empty ID', () => {
    const emptyID = vectors.cases.find((c) => c.name === 'signed-with-empty-distid');
    const valid = vectors.cases.find((c) => c.valid);
    const message = checkpointMessage(emptyID.digest);
    const signature = base64urlDecode(emptyID.signature);
    assert.equal(nodeVerify('sm3', Buffer.from(message), vectors.publicKeyPem, signature), true);
    assert.equal(sm2Verify(vectors.publicKeyPem, message, signature, ''), true);
    assert.equal(sm2Verify(vectors.publicKeyPem, message, signature), false);
    // And the reverse: a signature with the standard ID fails node's empty-ID verify, passes ours.
    const standard = base64urlDecode(valid.signature);
    assert.equal(nodeVerify('sm3', Buffer.from(checkpointMessage(valid.digest)), vectors.publicKeyPem, standard), false);
    assert.equal(sm2Verify(vectors.publicKeyPem, checkpointMessage(valid.digest), standard), true);
  });
});

test('client-apply', async (t) => {
  const { cases } = load('client-apply.json');
  for (const c of cases) {
    await t.test(c.name, () => {
      const store = new MemorySyncStore({ records: c.store, cursor: c.cursor, outbox: c.outbox });
      for (const page of c.pages) store.applyPage(page);
      assert.deepEqual(store.records, c.expectedStore);
      assert.equal(store.cursor, c.expectedCursor);
      if ('expectedOutbox' in c) assert.deepEqual(store.outbox, c.expectedOutbox);
    });
  }
});

test('client-apply: a malformed page leaves the store untouched', () => {
  const store = new MemorySyncStore({ records: { warnings: { 17: { level: 'red' } } }, cursor: 'c0', outbox: [{ id: 1, name: 'x', args: {} }] });
  const page = { reset: true, changes: [{ collection: 'warnings', id: '18', op: 'merge', version: 2, data: {} }], cursor: 'c1', lastMutationId: 1, hasMore: false };
  assert.throws(() => store.applyPage(page));
  assert.deepEqual(store.records, { warnings: { 17: { level: 'red' } } });
  assert.equal(store.cursor, 'c0');
  assert.equal(store.outbox.length, 1);
});
