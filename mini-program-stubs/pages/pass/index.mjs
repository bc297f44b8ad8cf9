// The visit pass: the signed token (drawn as a QR code) the kiosk scans. Kept in storage so it
// still shows with no network at the clinic door; checked against the published key so the
// patient knows it will verify. GET /api/v1/appointments/{id}/pass → {token, expiresAt,
// notBefore}; GET …/pass.svg → the QR code (needs the bearer: a mini-program downloads it
// with wx.downloadFile and a header; an <image src> cannot send one).

import { getApp } from '../../app.mjs';
import { api, errorData, publishedKeys } from '../../lib/api.mjs';
import { nowSeconds } from '../../lib/dates.mjs';
import { Page } from '../../lib/page.mjs';
import { passClaims, verifyPass } from '../../lib/visit-pass.mjs';
import { wx } from '../../lib/wx.mjs';
import { APPOINTMENT_KEY } from '../booking/index.mjs';

export const passKey = (appointmentId) => `pass.${appointmentId}`;

export default Page({
  route: 'pages/pass/index',
  data: {
    appointmentId: null,
    token: '',
    expiresAt: null,
    notBefore: null,
    claims: null,
    qrUrl: '',
    qrSvg: '',
    qrContentType: '',
    /** True when the pass shown comes from storage because the server could not be reached. */
    offline: false,
    /** true / false once checked with the published key; null when no key is at hand. */
    verified: null,
    verifyReason: '',
    error: null,
  },

  async onLoad(query = {}) {
    const appointmentId = query.appointmentId ?? wx.getStorageSync(APPOINTMENT_KEY)?.id ?? null;
    this.setData({ appointmentId });
    if (appointmentId === null) {
      this.setData({ error: { status: 0, code: 'no_appointment', message: '没有预约 No appointment to show a pass for.' } });
      return;
    }
    this.setData({ qrUrl: `${getApp().baseURL}/api/v1/appointments/${encodeURIComponent(appointmentId)}/pass.svg` });
    const cached = wx.getStorageSync(passKey(appointmentId));
    if (cached) this.showPass(cached);
    await this.refresh();
  },

  showPass({ token, expiresAt, notBefore }) {
    this.setData({ token, expiresAt, notBefore, claims: passClaims(token) });
  },

  /** Fetches the pass; without a network the stored one stays on screen. */
  async refresh() {
    const id = this.data.appointmentId;
    try {
      const pass = await api(`/appointments/${encodeURIComponent(id)}/pass`);
      wx.setStorageSync(passKey(id), { token: pass.token, expiresAt: pass.expiresAt, notBefore: pass.notBefore, fetchedAt: nowSeconds() });
      this.showPass(pass);
      this.setData({ offline: false, error: null });
    } catch (error) {
      if (error.code === 'network_error' && this.data.token) {
        this.setData({ offline: true });
      } else {
        if (error.code === 'appointment_cancelled') {
          wx.removeStorageSync(passKey(id));
          this.setData({ token: '', claims: null, expiresAt: null, notBefore: null });
        }
        this.setData({ offline: error.code === 'network_error', error: errorData(error) });
      }
    }
    await this.verify();
  },

  /** Verifies the shown token with the published keys (from storage when offline). */
  async verify(now = nowSeconds()) {
    if (!this.data.token) return null;
    let keys = wx.getStorageSync('keys.published') || {};
    const kid = this.data.claims?.kid;
    if (!this.data.offline && (!kid || !keys[kid])) {
      try {
        keys = await publishedKeys(wx, { refresh: true });
      } catch {
        // Keep whatever keys are stored.
      }
    }
    if (!kid || !keys[kid]) {
      this.setData({ verified: null, verifyReason: 'unknown_key' });
      return null;
    }
    const result = verifyPass(this.data.token, keys, now);
    this.setData({ verified: result.valid, verifyReason: result.valid ? '' : result.reason });
    return result.valid;
  },

  /** Downloads the QR code as SVG (with the bearer token). */
  async loadQr() {
    try {
      const res = await api(`/appointments/${encodeURIComponent(this.data.appointmentId)}/pass.svg`, { raw: true, dataType: 'text' });
      this.setData({ qrSvg: typeof res.data === 'string' ? res.data : '', qrContentType: res.header['content-type'] ?? '' });
      return this.data.qrSvg;
    } catch (error) {
      this.setData({ error: errorData(error) });
      return null;
    }
  },
});
