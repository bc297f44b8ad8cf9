// The mini-program's app object (app.js in WeChat): where the server is, and the patient's
// tokens and installation id in wx storage. Pages reach it with getApp().

import { App, getApp } from './lib/page.mjs';
import { wx } from './lib/wx.mjs';

const TOKENS_KEY = 'auth.tokens';
const CLIENT_ID_KEY = 'sync.clientId';

const app = App({
  globalData: {
    /** The BFF, without a trailing slash; a release build hard-codes its https origin. */
    baseURL: (globalThis.process?.env?.HEALTHCLOUD_URL || 'http://127.0.0.1:8080').replace(/\/+$/, ''),
  },

  onLaunch() {},

  get baseURL() {
    return this.globalData.baseURL;
  },

  setBaseURL(url) {
    this.globalData.baseURL = String(url).replace(/\/+$/, '');
  },

  /** `{accessToken, refreshToken, expiresAt}` or null. */
  get tokens() {
    return wx.getStorageSync(TOKENS_KEY) || null;
  },

  /** Stores a sign-in or refresh answer (`{accessToken, refreshToken, expiresIn}`). */
  setTokens({ accessToken, refreshToken, expiresIn }) {
    const expiresAt = Number.isFinite(expiresIn) ? Math.floor(Date.now() / 1000) + expiresIn : null;
    wx.setStorageSync(TOKENS_KEY, { accessToken, refreshToken, expiresAt });
  },

  clearTokens() {
    wx.removeStorageSync(TOKENS_KEY);
  },

  get accessToken() {
    return this.tokens?.accessToken ?? null;
  },

  get signedIn() {
    return Boolean(this.accessToken);
  },

  /** This installation's sync client id: stable, 8–64 of [A-Za-z0-9_-] (SPEC.md §3). */
  get clientId() {
    let id = wx.getStorageSync(CLIENT_ID_KEY);
    if (!id) {
      id = 'mp-' + globalThis.crypto.randomUUID().replaceAll('-', '');
      wx.setStorageSync(CLIENT_ID_KEY, id);
    }
    return id;
  },
});

export default app;
export { getApp };
