// The patient journey end to end against a live server (docs/patient-journey.md), driven
// through the mini-program pages: phone sign-in → pre-check (fever 38.6 °C, cough) →
// fever_clinic → the kiosk's site and today's current slot → booking → visit pass → the kiosk
// checks it in → the doctor grades → the patient's sync brings the notifications and records,
// every pull page's SM2 checkpoint verified.
//
//   HEALTHCLOUD_URL=http://127.0.0.1:8080 DEMO_DIR=<dir with demo-accounts.json> \
//     node --experimental-websocket --test mini-program-stubs/test/
//
// Skipped when HEALTHCLOUD_URL is unset (failed instead when CI=true). Each run signs in a
// fresh random patient (139xxxxxxxx), so reruns and parallel engines never collide on the
// one-appointment-per-day rule. Staff (kiosk, doctor) sign in with their password and a TOTP
// code computed here (lib/totp.mjs).

import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { getApp } from '../app.mjs';
import { nowSeconds, shanghaiDate } from '../lib/dates.mjs';
import { mount, unmount } from '../lib/page.mjs';
import { verifyCheckpoint } from '../lib/sync-protocol.mjs';
import { totp, totpCounter } from '../lib/totp.mjs';
import { request, wx } from '../lib/wx.mjs';
import BookingPage from '../pages/booking/index.mjs';
import LoginPage from '../pages/login/index.mjs';
import NotificationsPage from '../pages/notifications/index.mjs';
import PassPage from '../pages/pass/index.mjs';
import PrecheckPage, { PRECHECK_KEY } from '../pages/precheck/index.mjs';
import SitesPage from '../pages/sites/index.mjs';

const BASE = (process.env.HEALTHCLOUD_URL ?? '').replace(/\/+$/, '');
const DEMO_DIR = process.env.DEMO_DIR ?? '';
const KIOSK = 'kiosk.ruijin-fever';
const DOCTOR = 'doctor.ruijin';
/** Near Ruijin Hospital (Huangpu), where the kiosk's fever clinic is. */
const HERE = { lat: 31.2108, lng: 121.4705 };

const show = (value) => JSON.stringify(value, null, 1)?.slice(0, 1_500);

/** Polls `check` (sync or async) until it returns a truthy value; throws `message` on timeout. */
async function waitFor(check, { timeoutMs = 10_000, intervalMs = 250, message = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof message === 'function' ? message() : message}`);
    await sleep(intervalMs);
  }
}

/** A raw call (staff, dev routes): {statusCode, data}. */
function call(method, path, { token, data } = {}) {
  const header = token ? { Authorization: `Bearer ${token}` } : {};
  return request({ url: `${BASE}/api/v1${path}`, method, data, header });
}

function loadAccounts() {
  assert.ok(DEMO_DIR, 'DEMO_DIR is not set: it must name the directory holding demo-accounts.json (the data directory of `healthcloud serve --demo`)');
  const file = join(DEMO_DIR, 'demo-accounts.json');
  let accounts;
  try {
    accounts = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    assert.fail(`cannot read ${file}: ${error.message}`);
  }
  assert.ok(Array.isArray(accounts), `${file} is not a JSON array`);
  return accounts;
}

/** The newest 6-digit code texted to `phone` (demo SMS outbox, newest first). */
async function smsCode(phone) {
  return waitFor(
    async () => {
      const res = await call('GET', `/dev/sms-outbox?phone=${phone}`);
      assert.equal(res.statusCode, 200, `GET /dev/sms-outbox: ${res.statusCode} ${show(res.data)} (is the server running with --demo?)`);
      const text = res.data.messages?.[0]?.text ?? '';
      return text.match(/(?<!\d)(\d{6})(?!\d)/)?.[1];
    },
    { timeoutMs: 5_000, message: `a code texted to ${phone}` },
  );
}

/** Last TOTP step used per staff account in this process: a code is accepted once per step. */
const lastStep = new Map();

async function untilNextStep() {
  const now = Date.now() / 1000;
  await sleep(Math.ceil((totpCounter(now) + 1) * 30 - now) * 1000 + 500);
}

/** Password, then a TOTP code: the staff member's access token. */
async function signInStaff(accounts, username) {
  const account = accounts.find((candidate) => candidate.username === username);
  assert.ok(account, `${username} is not in demo-accounts.json`);
  assert.ok(account.totpSecret, `${username} has no totpSecret in demo-accounts.json`);
  const challenge = await call('POST', '/auth/staff/login', { data: { username, password: account.password } });
  assert.equal(challenge.statusCode, 200, `staff login ${username}: ${challenge.statusCode} ${show(challenge.data)}`);
  assert.equal(challenge.data.enrolmentRequired, false, `${username} has no confirmed authenticator`);
  for (let attempt = 1; ; attempt++) {
    if (lastStep.get(username) >= totpCounter()) await untilNextStep();
    const step = totpCounter();
    lastStep.set(username, step);
    const mfa = await call('POST', '/auth/staff/mfa', { data: { mfaToken: challenge.data.mfaToken, code: totp(account.totpSecret) } });
    if (mfa.statusCode === 200) {
      assert.ok(mfa.data.accessToken, `staff mfa ${username}: no accessToken in ${show(mfa.data)}`);
      return mfa.data.accessToken;
    }
    // This step's code may have been used already (a rerun against the same server within
    // 30 s): codes are single-use per account and step. Wait for the next step, once.
    if (attempt >= 2 || mfa.data?.error?.code !== 'invalid_code') {
      assert.fail(`staff mfa ${username}: ${mfa.statusCode} ${show(mfa.data)}`);
    }
    await untilNextStep();
  }
}

/** A URL where nothing listens (connection refused): the phone without network. */
async function deadURL() {
  const server = http.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  await new Promise((resolve) => server.close(resolve));
  return url;
}

/** The full set of answers of the journey's patient: fever 38.6 °C for a day, a cough, nothing else. */
const FEVER_ANSWERS = {
  temperature: '38.6', // text boxes give strings: the page sends numbers
  feverDays: '1',
  cough: true,
  soreThroat: false,
  dyspnoea: false,
  lossOfSmellTaste: false,
  otherSymptoms: [],
  dangerSigns: [],
  contactWithCase: false,
  riskAreaStay: false,
  cluster: 'none',
  age: '34',
  pregnant: false,
  chronicDiseases: [],
  immunosuppressed: false,
};

if (!BASE) {
  if (process.env.CI === 'true') {
    test('patient journey', () => {
      assert.fail('HEALTHCLOUD_URL is not set: in CI the journey must run against a live `healthcloud serve --demo` (tools/test sets it, with DEMO_DIR)');
    });
  } else {
    test('patient journey', { skip: 'HEALTHCLOUD_URL is not set (start `healthcloud serve --demo`, then set HEALTHCLOUD_URL and DEMO_DIR)' }, () => {});
  }
} else {
  test('patient journey', { timeout: 300_000 }, async (t) => {
    const app = getApp();
    app.setBaseURL(BASE);
    wx.clearStorageSync(); // a fresh phone
    const accounts = loadAccounts();
    const kioskAccount = accounts.find((account) => account.username === KIOSK);
    assert.ok(kioskAccount, `${KIOSK} is not in demo-accounts.json`);
    const siteId = Number(/^site:(\d+)$/.exec(kioskAccount.scope ?? '')?.[1]);
    assert.ok(Number.isSafeInteger(siteId), `${KIOSK} has scope ${kioskAccount.scope}, not site:ID`);
    t.diagnostic(`server ${BASE}, kiosk site ${siteId}`);

    const ctx = {};
    let broken = null;
    /** One step of the journey; after a failed step the rest are skipped (they need its result). */
    const step = (name, fn) =>
      t.test(name, async (st) => {
        if (broken) {
          st.skip(`needs the failed step "${broken}"`);
          return;
        }
        try {
          await fn(st);
        } catch (error) {
          broken = name;
          throw error;
        }
      });

    await step('the patient signs in with a texted code (login page)', async () => {
      ctx.phone = `139${String(randomInt(0, 100_000_000)).padStart(8, '0')}`;
      const login = await mount(LoginPage);
      assert.equal(login.data.loggedIn, false);
      login.onPhoneInput({ detail: { value: ctx.phone } });
      assert.equal(await login.sendCode(), true, `send code: ${show(login.data.error)}`);
      assert.equal(login.data.codeSent, true);
      const code = await smsCode(ctx.phone);
      login.onCodeInput({ detail: { value: code } });
      assert.equal(await login.login(), true, `login: ${show(login.data.error)}`);
      assert.equal(login.data.loggedIn, true);
      assert.equal(login.data.error, null, show(login.data.error));
      assert.match(app.accessToken ?? '', /.{16,}/);
      assert.ok(wx.getStorageSync('auth.tokens').refreshToken, 'the refresh token is stored');
      assert.equal(login.data.profile?.kind, 'patient', show(login.data.profile));
    });

    await step('the pre-check triages a fever of 38.6 with a cough to a fever clinic (precheck page)', async () => {
      const precheck = await mount(PrecheckPage, { lat: String(HERE.lat), lng: String(HERE.lng) });
      assert.ok(precheck.data.questionnaire, `questionnaire: ${show(precheck.data.error)}`);
      assert.equal(precheck.data.questionnaire.version, 1);
      const linkIds = precheck.data.questionnaire.items.map((item) => item.linkId);
      for (const linkId of Object.keys(FEVER_ANSWERS)) assert.ok(linkIds.includes(linkId), `the questionnaire asks ${linkId} (has ${linkIds})`);
      const item = (linkId) => precheck.data.items.find((candidate) => candidate.linkId === linkId);

      // feverDays is asked only with a fever (enableWhen temperature >= 37.3).
      precheck.setAnswer('temperature', '36.8');
      assert.equal(item('feverDays').enabled, false);

      // Incomplete answers: 422 invalid_answers, every problem shown at once.
      assert.equal(await precheck.submit(), null);
      const error = precheck.data.error;
      assert.equal(error?.status, 422, show(error));
      assert.equal(error.code, 'invalid_answers');
      assert.ok(Array.isArray(error.problems) && error.problems.length > 1, `problems listed: ${show(error)}`);
      assert.ok(error.problems.some((problem) => problem.code === 'required'), show(error.problems));

      precheck.setAnswers(FEVER_ANSWERS);
      assert.equal(item('feverDays').enabled, true);
      assert.deepEqual(precheck.data.missing, []);
      const body = precheck.body();
      assert.equal(body.answers.temperature, 38.6);
      assert.equal(body.answers.feverDays, 1);
      assert.equal(body.answers.age, 34);
      assert.equal('contactDaysAgo' in body.answers, false);
      assert.deepEqual(body.location, HERE);

      const result = await precheck.submit();
      assert.ok(result, `submit: ${show(precheck.data.error)}`);
      assert.equal(result.level, 'fever_clinic', show(result));
      assert.equal(precheck.data.result.level, 'fever_clinic');
      assert.ok(Number.isSafeInteger(result.id) && result.id > 0, show(result));
      assert.equal(result.questionnaireVersion, 1);
      assert.ok(Array.isArray(result.reasons) && result.reasons.length >= 1, `reasons: ${show(result)}`);
      for (const reason of result.reasons) {
        assert.equal(typeof reason.rule, 'string', show(reason));
        assert.ok(typeof reason.text === 'string' && reason.text.length > 0, show(reason));
      }
      assert.ok(typeof result.advice === 'string' && result.advice.length > 0, `advice: ${show(result)}`);
      assert.ok(Array.isArray(result.recommendedSites), show(result));
      assert.ok(result.recommendedSites.length >= 1 && result.recommendedSites.length <= 5, `1–5 recommended sites: ${show(result.recommendedSites)}`);
      for (const site of result.recommendedSites) assert.equal(site.kind, 'fever_clinic', show(site));
      assert.ok(result.validUntil > result.createdAt, show(result));
      assert.equal(wx.getStorageSync(PRECHECK_KEY).id, result.id);
      assert.equal(precheck.canBook(), true);
      ctx.precheck = result;
    });

    await step("the kiosk's fever clinic has a bookable slot now (sites page)", async () => {
      const sites = await mount(SitesPage, { service: 'fever', lat: String(HERE.lat), lng: String(HERE.lng) });
      assert.equal(sites.data.error, null, show(sites.data.error));
      assert.ok(sites.data.sites.length >= 1, 'fever clinics are listed');
      for (const site of sites.data.sites) {
        assert.equal(site.kind, 'fever_clinic', show(site));
        assert.equal(typeof site.distanceKm, 'number', `distanceKm with lat/lng: ${show(site)}`);
      }
      // Book the current 60-minute window: when it is about to end, wait for the next one.
      const windowEnd = Math.ceil((nowSeconds() + 1) / 3600) * 3600;
      if (windowEnd - nowSeconds() < 90) {
        t.diagnostic(`waiting ${windowEnd - nowSeconds() + 2} s for the next window`);
        await sleep((windowEnd - nowSeconds() + 2) * 1000);
      }
      const slots = await sites.selectSite(siteId);
      assert.ok(slots, `slots: ${show(sites.data.error)}`);
      assert.equal(sites.data.date, shanghaiDate());
      assert.ok(slots.length >= 1, 'the site has slots today');
      const slot = sites.currentSlot();
      assert.ok(slot, `a bookable slot contains now (${nowSeconds()}): ${show(slots.map(({ id, start, end, startsAt, endsAt, bookable, free }) => ({ id, start, end, startsAt, endsAt, bookable, free })))}`);
      assert.equal(slot.endsAt - slot.startsAt, 3600, show(slot));
      assert.ok(slot.free >= 1 && slot.capacity >= slot.free, show(slot));
      ctx.slot = slot;
    });

    await step('booking with a pre-check that does not exist shows a clear error (booking page)', async () => {
      const bad = await mount(BookingPage, { slotId: String(ctx.slot.id), precheckId: '999999999' });
      assert.equal(await bad.book(), null);
      assert.equal(bad.data.appointment, null);
      assert.equal(bad.data.error?.status, 404, show(bad.data.error));
      assert.equal(bad.data.error.code, 'precheck_not_found');
      assert.ok(bad.data.error.message.length > 0);

      const garbled = await mount(BookingPage, { slotId: String(ctx.slot.id), precheckId: 'abc' });
      assert.equal(await garbled.book(), null);
      assert.equal(garbled.data.error?.code, 'invalid_precheck', show(garbled.data.error));
      assert.equal(garbled.data.error.field, 'precheckId');
    });

    await step('the patient books the current slot with the pre-check (booking page)', async () => {
      const booking = await mount(BookingPage, { slotId: String(ctx.slot.id) });
      assert.equal(booking.data.precheckId, ctx.precheck.id, 'the pre-check comes from storage');
      const appointment = await booking.book();
      assert.ok(appointment, `book: ${show(booking.data.error)}`);
      assert.equal(appointment.status, 'booked');
      assert.equal(appointment.siteId, siteId);
      assert.equal(appointment.slotId, ctx.slot.id);
      assert.equal(appointment.precheckId, ctx.precheck.id);
      assert.equal(appointment.level, 'fever_clinic');
      assert.equal(appointment.date, shanghaiDate(ctx.slot.startsAt));
      assert.equal(appointment.startsAt, ctx.slot.startsAt);
      assert.equal(appointment.queueNumber ?? null, null, "no queue number before check-in");
      assert.equal(booking.data.statusText.length > 0, true);
      ctx.appointment = appointment;
      ctx.booking = booking;
    });

    await step('the visit pass is signed, drawn as SVG, and still shows offline (pass page)', async () => {
      const id = ctx.appointment.id;
      const pass = await mount(PassPage, { appointmentId: String(id) });
      assert.equal(pass.data.error, null, show(pass.data.error));
      assert.match(pass.data.token, /^HCP1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
      assert.ok(pass.data.notBefore < pass.data.expiresAt, show(pass.data));
      assert.ok(pass.data.notBefore <= nowSeconds() && nowSeconds() < pass.data.expiresAt, 'the pass is valid now');
      assert.equal(pass.data.claims.typ, 'visit', show(pass.data.claims));
      assert.equal(pass.data.claims.apt, id, show(pass.data.claims));
      assert.equal(pass.data.claims.site, siteId, show(pass.data.claims));
      assert.equal(pass.data.verified, true, `the pass verifies with the published key: ${pass.data.verifyReason}`);
      assert.equal(pass.data.qrUrl, `${BASE}/api/v1/appointments/${id}/pass.svg`);
      const svg = await pass.loadQr();
      assert.ok(svg, `pass.svg: ${show(pass.data.error)}`);
      assert.match(pass.data.qrContentType, /^image\/svg\+xml/);
      assert.match(svg, /<svg[\s>]/);
      ctx.token = pass.data.token;

      // No network at the clinic door: the stored pass still shows, and still verifies.
      app.setBaseURL(await deadURL());
      try {
        const offline = await mount(PassPage, { appointmentId: String(id) });
        assert.equal(offline.data.offline, true);
        assert.equal(offline.data.token, ctx.token);
        assert.equal(offline.data.verified, true, offline.data.verifyReason);
      } finally {
        app.setBaseURL(BASE);
      }
    });

    await step('the kiosk checks the pass in once; the same pass again is refused', async () => {
      ctx.kioskToken = await signInStaff(accounts, KIOSK);
      const first = await call('POST', '/checkins', { token: ctx.kioskToken, data: { token: ctx.token } });
      assert.equal(first.statusCode, 200, `check-in: ${first.statusCode} ${show(first.data)}`);
      assert.equal(first.data.appointmentId, ctx.appointment.id);
      assert.equal(first.data.siteId, siteId);
      assert.ok(Number.isSafeInteger(first.data.queueNumber) && first.data.queueNumber >= 1, show(first.data));
      assert.equal(typeof first.data.checkedInAt, 'number');
      ctx.queueNumber = first.data.queueNumber;

      const again = await call('POST', '/checkins', { token: ctx.kioskToken, data: { token: ctx.token } });
      assert.equal(again.statusCode, 409, `second check-in: ${again.statusCode} ${show(again.data)}`);
      assert.equal(again.data.error?.code, 'pass_already_used', show(again.data));

      // The booking page shows the arrival; a checked-in appointment cannot be cancelled.
      const booking = ctx.booking;
      const shown = await booking.load();
      assert.ok(shown, show(booking.data.error));
      assert.equal(shown.status, 'checked_in');
      assert.equal(shown.queueNumber, ctx.queueNumber);
      assert.equal(await booking.cancel(), null);
      assert.equal(booking.data.error?.status, 409, show(booking.data.error));
      assert.equal(booking.data.error.code, 'appointment_checked_in');
      assert.equal(booking.data.appointment.status, 'checked_in');
    });

    await step('the doctor grades the patient mild: home isolation', async () => {
      const doctorToken = await signInStaff(accounts, DOCTOR);
      const res = await call('POST', `/appointments/${ctx.appointment.id}/grading`, {
        token: doctorToken,
        data: { grade: 'mild', note: 'journey test: fever, cough, SpO2 normal' },
      });
      assert.equal(res.statusCode, 201, `grading: ${res.statusCode} ${show(res.data)}`);
      assert.equal(res.data.appointmentId, ctx.appointment.id);
      assert.equal(res.data.grade, 'mild');
      assert.equal(res.data.routing, 'home_isolation');
      assert.ok(typeof res.data.advice === 'string' && res.data.advice.length > 0, show(res.data));
    });

    await step("the patient's sync brings the notifications and records, every page verified (notifications page)", async () => {
      const inbox = await mount(NotificationsPage);
      ctx.inbox = inbox;
      assert.equal(inbox.data.error, null, show(inbox.data.error));
      const wanted = ['booking', 'checkin', 'grading'];
      const kinds = () => new Set(inbox.data.notifications.map((n) => n.kind));
      await waitFor(
        async () => {
          if (wanted.every((kind) => kinds().has(kind))) return true;
          await inbox.sync();
          assert.equal(inbox.data.error, null, show(inbox.data.error));
          return false;
        },
        { timeoutMs: 15_000, intervalMs: 500, message: () => `notifications of kinds ${wanted} (have ${[...kinds()]})` },
      );
      for (const notification of inbox.data.notifications) {
        assert.ok(typeof notification.title === 'string' && notification.title.length > 0, show(notification));
        assert.equal(typeof notification.createdAt, 'number', show(notification));
      }

      const appointmentId = ctx.appointment.id;
      const appointment = inbox.data.appointments.find((record) => record.id === String(appointmentId) || record.appointmentId === appointmentId);
      assert.ok(appointment, `an appointments record for ${appointmentId}: ${show(inbox.data.appointments)}`);
      assert.equal(appointment.status, 'checked_in', show(appointment));
      const visitPass = inbox.data.visitPasses.find((record) => record.token === ctx.token);
      assert.ok(visitPass, `a visitPasses record with the token: ${show(inbox.data.visitPasses)}`);
      assert.equal(visitPass.appointmentId, appointmentId, show(visitPass));
      assert.equal(visitPass.siteId, siteId, show(visitPass));
      const precheck = inbox.data.prechecks.find((record) => record.id === String(ctx.precheck.id));
      assert.ok(precheck, `a prechecks record for ${ctx.precheck.id}: ${show(inbox.data.prechecks)}`);
      assert.equal(precheck.level, 'fever_clinic', show(precheck));

      // Every page was verified before it was applied (the page refuses any other), and checks
      // again here with the protocol module and the published keys.
      assert.equal(inbox.data.pagesRejected, 0, inbox.data.lastRejection);
      assert.ok(inbox.data.pagesVerified >= 1);
      assert.ok(inbox.data.resets >= 1, 'the first pull of a new installation is a reset');
      assert.ok(inbox.pulledPages.length >= 1);
      assert.equal(inbox.pulledPages[0].reset, true);
      const keys = await call('GET', '/keys');
      assert.equal(keys.statusCode, 200);
      const pems = Object.fromEntries(keys.data.keys.map((key) => [key.kid, key.publicKeyPem]));
      for (const [index, page] of inbox.pulledPages.entries()) {
        assert.ok(pems[page.checkpoint?.kid], `page ${index}: kid ${page.checkpoint?.kid} is published`);
        assert.equal(verifyCheckpoint(page, pems[page.checkpoint.kid]), true, `page ${index} verifies`);
      }
    });

    await step('marking a notification read goes through sync push; the live socket pokes', async (st) => {
      const inbox = ctx.inbox;
      let live = false;
      if (!wx.canUseWebSocket) {
        st.diagnostic('no global WebSocket in this node (run with --experimental-websocket): the live socket is not tested');
      } else {
        live = await inbox.connectLive();
        assert.equal(live, true, `the live socket opens: ${show(inbox.data.live)}`);
        await waitFor(() => inbox.data.live.hello !== null, { timeoutMs: 5_000, message: 'the hello message' });
        assert.equal(typeof inbox.data.live.hello, 'number', show(inbox.data.live));
      }

      const grading = inbox.data.notifications.find((n) => n.kind === 'grading');
      assert.ok(grading, show(inbox.data.notifications));
      assert.equal(grading.read, false, show(grading));
      const unreadBefore = inbox.data.unread;
      const mutationId = await inbox.markRead(grading.id);
      assert.equal(inbox.data.error, null, show(inbox.data.error));
      assert.deepEqual(inbox.data.lastPushResults.map(({ id, status }) => ({ id, status })), [{ id: mutationId, status: 'applied' }], show(inbox.data.lastPushResults));
      await waitFor(
        async () => {
          if (inbox.record('notifications', grading.id)?.readAt) return true;
          await inbox.sync();
          return false;
        },
        { timeoutMs: 10_000, message: 'readAt on the grading notification' },
      );
      assert.equal(inbox.data.pendingMutations, 0, 'the pull acknowledged the mutation (lastMutationId)');
      assert.equal(inbox.data.unread, unreadBefore - 1);
      assert.equal(inbox.data.notifications.find((n) => n.id === grading.id).read, true);
      assert.equal(inbox.data.pagesRejected, 0, inbox.data.lastRejection);

      if (live) {
        await waitFor(() => inbox.data.live.pokes >= 1, { timeoutMs: 10_000, message: 'a poke after the change' });
        await unmount(inbox); // closes the socket
        await waitFor(() => inbox.data.live.state === 'closed', { timeoutMs: 5_000, message: 'the socket to close' });
      }
    });
  });
}
