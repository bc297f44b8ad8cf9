// Offline tests of the page runtime and the pages' own logic (no HealthCloud server): Page() /
// setData, the pre-check's enableWhen and answer coercion, slot choice, error shapes, visit
// pass checks, TOTP (RFC 6238 vectors), and the notifications page's sync loop against a local
// stand-in that serves the signed pages of SyncProtocol/vectors/checkpoint-signature.json.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { after, before, beforeEach, describe, test } from 'node:test';

import { getApp } from '../app.mjs';
import { ApiError } from '../lib/api.mjs';
import { shanghaiDate } from '../lib/dates.mjs';
import { Page, mount, parseDataPath } from '../lib/page.mjs';
import { base64urlEncode } from '../lib/sync-protocol.mjs';
import { base32Decode, hotp, totp } from '../lib/totp.mjs';
import { passClaims, verifyPass } from '../lib/visit-pass.mjs';
import { wx } from '../lib/wx.mjs';
import BookingPage from '../pages/booking/index.mjs';
import NotificationsPage from '../pages/notifications/index.mjs';
import { buildAnswers, coerceAnswer, enabledItems, missingAnswers } from '../pages/precheck/index.mjs';
import { slotAt } from '../pages/sites/index.mjs';

describe('Page runtime', () => {
  test('data is copied per instance; setData merges, with path keys', () => {
    const Counter = Page({
      data: { count: 0, nested: { list: [{ name: 'a' }] } },
      bump() {
        this.setData({ count: this.data.count + 1 });
      },
    });
    const one = Counter.create();
    const two = Counter.create();
    one.bump();
    one.bump();
    assert.equal(one.data.count, 2);
    assert.equal(two.data.count, 0);
    one.setData({ 'nested.list[0].name': 'b', 'nested.list[1]': { name: 'c' }, 'fresh.deep': 1 });
    assert.deepEqual(one.data.nested, { list: [{ name: 'b' }, { name: 'c' }] });
    assert.deepEqual(one.data.fresh, { deep: 1 });
    assert.deepEqual(two.data.nested, { list: [{ name: 'a' }] });
    assert.equal(one.renders, 3);
    // Values are copied: changing the object passed in does not reach the page.
    const value = { x: 1 };
    one.setData({ value });
    value.x = 2;
    assert.equal(one.data.value.x, 1);
  });

  test('data paths', () => {
    assert.deepEqual(parseDataPath('a'), ['a']);
    assert.deepEqual(parseDataPath('a.b[2].c'), ['a', 'b', 2, 'c']);
    assert.deepEqual(parseDataPath('live.state'), ['live', 'state']);
    assert.throws(() => parseDataPath(''), SyntaxError);
    assert.throws(() => parseDataPath('a..b'), SyntaxError);
    assert.throws(() => parseDataPath('a[x]'), SyntaxError);
  });

  test('mount runs onLoad (awaited), onShow and onReady in order', async () => {
    const calls = [];
    const Lifecycle = Page({
      data: {},
      async onLoad(query) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        calls.push(['load', query]);
      },
      onShow() {
        calls.push(['show']);
      },
      onReady() {
        calls.push(['ready']);
      },
    });
    await mount(Lifecycle, { id: '7' });
    assert.deepEqual(calls, [['load', { id: '7' }], ['show'], ['ready']]);
  });
});

// ---------------------------------------------------------------- pre-check logic

const QUESTIONNAIRE = {
  version: 1,
  items: [
    { linkId: 'temperature', type: 'decimal', required: true },
    { linkId: 'feverDays', type: 'integer', required: true, enableWhen: [{ question: 'temperature', operator: '>=', answer: 37.3 }], enableBehavior: 'all' },
    { linkId: 'cough', type: 'boolean', required: true },
    { linkId: 'dangerSigns', type: 'choice', repeats: true, required: false },
    { linkId: 'contactWithCase', type: 'boolean', required: true },
    { linkId: 'contactDaysAgo', type: 'integer', required: true, enableWhen: [{ question: 'contactWithCase', operator: '=', answer: true }] },
    { linkId: 'cluster', type: 'choice', required: true },
    { linkId: 'age', type: 'integer', required: true },
    {
      linkId: 'pregnant',
      type: 'boolean',
      required: true,
      enableWhen: [
        { question: 'age', operator: '>=', answer: 12 },
        { question: 'age', operator: '<=', answer: 55 },
      ],
      enableBehavior: 'all',
    },
    { linkId: 'guardianPresent', type: 'boolean', required: true, enableWhen: [{ question: 'age', operator: '<', answer: 6 }] },
    { linkId: 'riskAreaName', type: 'string', required: false, enableWhen: [{ question: 'riskAreaStay', operator: '=', answer: true }] },
    { linkId: 'riskAreaStay', type: 'boolean', required: true },
    { linkId: 'anySign', type: 'boolean', enableWhen: [{ question: 'cough', operator: '=', answer: true }, { question: 'dangerSigns', operator: 'exists', answer: true }], enableBehavior: 'any' },
    { linkId: 'chestPainSince', type: 'integer', enableWhen: [{ question: 'dangerSigns', operator: 'includes', answer: 'chestPain' }] },
    { linkId: 'dangerNote', type: 'string', enableWhen: [{ question: 'dangerSigns', operator: 'nonEmpty', answer: true }] },
  ],
};

describe('pre-check answers', () => {
  test('enableWhen: all, any, exists; a disabled answer does not enable others', () => {
    const on = (answers) => [...enabledItems(QUESTIONNAIRE, answers)];
    assert.equal(on({ temperature: 36.5 }).includes('feverDays'), false);
    assert.equal(on({ temperature: '38.6' }).includes('feverDays'), true);
    assert.equal(on({ age: 34 }).includes('pregnant'), true);
    assert.equal(on({ age: 60 }).includes('pregnant'), false);
    assert.equal(on({ age: 4 }).includes('guardianPresent'), true);
    assert.equal(on({ age: 4 }).includes('pregnant'), false);
    assert.equal(on({ cough: false }).includes('anySign'), false);
    assert.equal(on({ cough: false, dangerSigns: ['chestPain'] }).includes('anySign'), true);
    assert.equal(on({ cough: true }).includes('anySign'), true);
    assert.equal(on({ dangerSigns: ['seizure'] }).includes('chestPainSince'), false);
    assert.equal(on({ dangerSigns: ['seizure', 'chestPain'] }).includes('chestPainSince'), true);
    assert.equal(on({ dangerSigns: [] }).includes('dangerNote'), false);
    assert.equal(on({ dangerSigns: ['seizure'] }).includes('dangerNote'), true);
    // riskAreaName comes before the item it depends on: order does not matter.
    assert.equal(on({ riskAreaStay: true }).includes('riskAreaName'), true);
  });

  test('buildAnswers coerces input strings, drops disabled items and empty lists', () => {
    const answers = buildAnswers(QUESTIONNAIRE, {
      temperature: '38.6',
      feverDays: '2',
      cough: 'true',
      dangerSigns: [],
      contactWithCase: false,
      contactDaysAgo: '3', // not enabled: left out
      cluster: 'none',
      age: '34',
      pregnant: false,
      guardianPresent: true, // not enabled at 34
      riskAreaStay: false,
    });
    assert.deepEqual(answers, { temperature: 38.6, feverDays: 2, cough: true, contactWithCase: false, cluster: 'none', age: 34, pregnant: false, riskAreaStay: false });
    assert.deepEqual(missingAnswers(QUESTIONNAIRE, { temperature: '38.6' }), ['feverDays', 'cough', 'contactWithCase', 'cluster', 'age', 'riskAreaStay']);
  });

  test('values that cannot be coerced are sent as given (the server reports wrong_type)', () => {
    assert.equal(coerceAnswer({ type: 'integer' }, '3.5'), '3.5');
    assert.equal(coerceAnswer({ type: 'decimal' }, 'hot'), 'hot');
    assert.equal(coerceAnswer({ type: 'string' }, '  '), undefined);
    assert.deepEqual(coerceAnswer({ type: 'choice', repeats: true }, 'fatigue'), ['fatigue']);
    assert.equal(coerceAnswer({ type: 'choice' }, ['none']), 'none');
  });
});

describe('sites, errors, passes, TOTP', () => {
  test('slotAt picks the bookable window containing the time', () => {
    const slots = [
      { id: 1, startsAt: 1000, endsAt: 4600, bookable: false },
      { id: 2, startsAt: 4600, endsAt: 8200, bookable: true },
      { id: 3, startsAt: 8200, endsAt: 11800, bookable: true },
    ];
    assert.equal(slotAt(slots, 4600).id, 2);
    assert.equal(slotAt(slots, 8199).id, 2);
    assert.equal(slotAt(slots, 8200).id, 3);
    assert.equal(slotAt(slots, 2000), null);
    assert.equal(shanghaiDate(1764374400), '2025-11-29'); // 2025-11-29 08:00 Shanghai
    assert.equal(shanghaiDate(1764345599), '2025-11-28'); // 23:59:59 Shanghai
  });

  test('ApiError reads the error body, with problems inside or beside it', () => {
    const inside = ApiError.fromResponse({ statusCode: 422, data: { error: { code: 'invalid_answers', message: 'm', field: 'answers.age', problems: [{ linkId: 'age', code: 'required' }] } } });
    assert.deepEqual(inside.toData(), { status: 422, code: 'invalid_answers', message: 'm', field: 'answers.age', problems: [{ linkId: 'age', code: 'required' }] });
    const beside = ApiError.fromResponse({ statusCode: 422, data: { error: { code: 'invalid_answers', message: 'm' }, problems: [{ linkId: 'age', code: 'required' }] } });
    assert.equal(beside.problems.length, 1);
    const bare = ApiError.fromResponse({ statusCode: 502, data: 'Bad Gateway' });
    assert.deepEqual(bare.toData(), { status: 502, code: 'http_502', message: 'Bad Gateway' });
  });

  test('visit pass checks refuse what they cannot verify', () => {
    const payload = base64urlEncode(JSON.stringify({ kid: 'k1', typ: 'visit', apt: 41, site: 5, nbf: 100, exp: 200 }));
    const token = `HCP1.${payload}.MEUCIQ`;
    assert.deepEqual(passClaims(token), { kid: 'k1', typ: 'visit', apt: 41, site: 5, nbf: 100, exp: 200 });
    assert.equal(passClaims('HCP2.x.y'), null);
    assert.equal(passClaims('HCP1.%%%.y'), null);
    assert.deepEqual(verifyPass('nope', {}), { valid: false, reason: 'malformed' });
    assert.deepEqual(verifyPass(token, {}), { valid: false, reason: 'unknown_key' });
    const { publicKeyPem } = JSON.parse(readFileSync(new URL('../../SyncProtocol/vectors/checkpoint-signature.json', import.meta.url), 'utf8'));
    assert.deepEqual(verifyPass(token, { k1: publicKeyPem }, 150), { valid: false, reason: 'invalid_signature' });
  });

  test('TOTP: RFC 6238 SHA-1 vectors (last 6 digits), base32 secrets', () => {
    const secret = Buffer.from('12345678901234567890');
    assert.deepEqual(base32Decode('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ'), secret);
    assert.deepEqual(base32Decode('gezd gnbv gy3t qojq gezd gnbv gy3t qojq'), secret);
    for (const [time, code] of [
      [59, '287082'],
      [1111111109, '081804'],
      [1111111111, '050471'],
      [1234567890, '005924'],
      [2000000000, '279037'],
      [20000000000, '353130'],
    ]) {
      assert.equal(totp(secret, time), code, `T=${time}`);
      assert.equal(totp('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', time), code);
    }
    assert.equal(hotp(secret, 0), '755224'); // RFC 4226 appendix D
    assert.throws(() => base32Decode('A1'), /base32/);
  });
});

// ---------------------------------------------------------------- pages against a stand-in

const vectors = JSON.parse(readFileSync(new URL('../../SyncProtocol/vectors/checkpoint-signature.json', import.meta.url), 'utf8'));
const signedPage = (name) => {
  const c = vectors.cases.find((candidate) => candidate.name === name);
  return { protocolVersion: 1, schemaVersion: 1, ...c.page, hasMore: false, checkpoint: { digest: c.digest, kid: 'test', signature: c.signature } };
};

/** Answers /keys, /sync/pull (from a queue of pages), /sync/push and /appointments; records requests. */
function standIn() {
  const state = { pulls: [], pushes: [], pages: [], pushResults: null, requests: [] };
  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = chunks.length ? JSON.parse(Buffer.concat(chunks)) : null;
    state.requests.push({ method: req.method, url: req.url, body, authorization: req.headers.authorization });
    const send = (status, value) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    if (req.url === '/api/v1/keys') return send(200, { keys: [{ kid: 'test', alg: 'SM2-SM3', publicKeyPem: vectors.publicKeyPem, current: true }] });
    if (req.url === '/api/v1/sync/pull') {
      state.pulls.push(body);
      return send(200, state.pages.length > 1 ? state.pages.shift() : state.pages[0]);
    }
    if (req.url === '/api/v1/sync/push') {
      state.pushes.push(body);
      return send(200, { results: state.pushResults ?? body.mutations.map(({ id }) => ({ id, status: 'applied' })) });
    }
    if (req.url === '/api/v1/appointments') return send(404, { error: { code: 'precheck_not_found', message: 'You have no pre-check 5.', field: 'precheckId' } });
    return send(404, { error: { code: 'not_found', message: req.url } });
  });
  return { server, state };
}

describe('pages against a stand-in server', () => {
  let server;
  let state;

  before(async () => {
    ({ server, state } = standIn());
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    getApp().setBaseURL(`http://127.0.0.1:${server.address().port}`);
  });
  after(() => new Promise((resolve) => server.close(resolve)));
  beforeEach(() => {
    wx.clearStorageSync();
    getApp().setTokens({ accessToken: 'hca_test', refreshToken: 'hcr_test', expiresIn: 900 });
    Object.assign(state, { pulls: [], pushes: [], pages: [], pushResults: null, requests: [] });
  });

  test('the app keeps a stable sync client id', () => {
    const id = getApp().clientId;
    assert.match(id, /^[A-Za-z0-9_-]{8,64}$/);
    assert.equal(getApp().clientId, id);
  });

  test('booking: a missing or bad pre-check is an error in page data', async () => {
    const noPrecheck = await mount(BookingPage, { slotId: '812' });
    assert.equal(await noPrecheck.book(), null);
    assert.equal(noPrecheck.data.error.code, 'invalid_precheck');
    assert.equal(state.requests.length, 0, 'nothing was sent');
    const unknown = await mount(BookingPage, { slotId: '812', precheckId: '5' });
    assert.equal(await unknown.book(), null);
    assert.deepEqual(unknown.data.error, { status: 404, code: 'precheck_not_found', message: 'You have no pre-check 5.', field: 'precheckId' });
    assert.deepEqual(state.requests.at(-1).body, { slotId: 812, precheckId: 5 });
    assert.equal(state.requests.at(-1).authorization, 'Bearer hca_test');
  });

  test('notifications: a verified page is applied and kept in storage', async () => {
    state.pages = [signedPage('valid-patient-page')];
    const inbox = await mount(NotificationsPage);
    assert.equal(inbox.data.error, null, JSON.stringify(inbox.data.error));
    assert.equal(inbox.data.pagesVerified, 1);
    assert.equal(inbox.data.pagesRejected, 0);
    assert.deepEqual(inbox.data.notifications.map((n) => [n.id, n.kind, n.read]), [['88', 'appointment', false]]);
    assert.equal(inbox.data.unread, 1);
    assert.equal(state.pulls[0].cursor, null);
    assert.equal(state.pulls[0].protocolVersion, 1);
    assert.match(state.pulls[0].clientId, /^[A-Za-z0-9_-]{8,64}$/);
    // A new page instance (the app reopened offline) shows the stored records.
    const stored = wx.getStorageSync('sync.store');
    assert.equal(stored.cursor, signedPage('valid-patient-page').cursor);
    assert.ok(stored.records.notifications['88']);
  });

  test('notifications: pages that do not verify are discarded, then a reset, then an error', async () => {
    state.pages = [signedPage('valid-patient-page')];
    const inbox = await mount(NotificationsPage);
    const cursor = signedPage('valid-patient-page').cursor;
    state.pages = [signedPage('tampered-record')];
    state.pulls = [];
    assert.equal(await inbox.sync(), false);
    assert.equal(inbox.data.error?.code, 'checkpoint_invalid', JSON.stringify(inbox.data));
    assert.match(inbox.data.lastRejection, /digest mismatch/);
    assert.equal(inbox.data.pagesRejected, 6);
    assert.equal(inbox.data.pagesVerified, 1);
    // Three tries from the stored cursor, then three from scratch (a reset); nothing applied.
    assert.deepEqual(state.pulls.map((pull) => pull.cursor), [cursor, cursor, cursor, null, null, null]);
    assert.deepEqual(inbox.data.notifications.map((n) => n.id), ['88']);

    state.pages = [signedPage('signed-with-empty-distid')];
    state.pulls = [];
    await inbox.sync();
    assert.match(inbox.data.lastRejection, /SM2 signature .* does not verify/);
  });

  test('notifications: markRead goes out as a push and leaves the outbox when a pull acknowledges it', async () => {
    state.pages = [signedPage('valid-patient-page')];
    const inbox = await mount(NotificationsPage);
    state.pages = [signedPage('valid-empty-page')]; // lastMutationId 12
    const mutationId = await inbox.markRead('88');
    assert.equal(mutationId, 1);
    assert.deepEqual(state.pushes[0].mutations, [{ id: 1, name: 'markNotificationRead', args: { notificationId: 88 } }]);
    assert.equal(state.pushes[0].clientId, state.pulls[0].clientId);
    assert.deepEqual(inbox.data.lastPushResults, [{ id: 1, status: 'applied' }]);
    assert.equal(inbox.data.pendingMutations, 0);
    assert.equal(state.pulls.at(-1).cursor, signedPage('valid-patient-page').cursor);

    // Offline: the mark stays in the outbox and the notification shows read meanwhile.
    const base = getApp().baseURL;
    getApp().setBaseURL('http://127.0.0.1:9');
    try {
      await inbox.markRead('88');
    } finally {
      getApp().setBaseURL(base);
    }
    assert.equal(inbox.data.error.code, 'network_error');
    assert.equal(inbox.data.pendingMutations, 1);
    assert.equal(inbox.data.notifications[0].read, true);
    assert.equal(inbox.data.notifications[0].pendingRead, true);

    // A rejected mutation leaves the outbox and is shown.
    state.pushResults = [{ id: 2, status: 'rejected', code: 'notification_not_found', message: 'You have no notification 88.' }];
    await inbox.sync();
    assert.equal(inbox.data.error, null);
    assert.equal(inbox.data.pendingMutations, 0);
    assert.deepEqual(inbox.data.rejectedMutations.map((r) => r.code), ['notification_not_found']);
  });

  test('notifications: without a WebSocket the live socket reports unavailable', { skip: typeof globalThis.WebSocket === 'function' && 'this node has a WebSocket' }, async () => {
    state.pages = [signedPage('valid-empty-page')];
    const inbox = await mount(NotificationsPage);
    assert.equal(await inbox.connectLive(), false);
    assert.equal(inbox.data.live.state, 'unavailable');
    assert.match(inbox.data.live.error, /--experimental-websocket/);
  });
});
