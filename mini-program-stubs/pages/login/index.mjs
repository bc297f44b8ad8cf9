// Sign-in by phone code: phone → send code (SMS) → code → tokens in storage.
// POST /api/v1/auth/otp {phone} → 202 {expiresIn, resendAfter};
// POST /api/v1/auth/patient/login {phone, code} → {accessToken, refreshToken, expiresIn}.

import { getApp } from '../../app.mjs';
import { ApiError, api, errorData } from '../../lib/api.mjs';
import { Page } from '../../lib/page.mjs';

const PHONE = /^1[3-9]\d{9}$/;

export default Page({
  route: 'pages/login/index',
  data: {
    phone: '',
    code: '',
    codeSent: false,
    codeExpiresIn: 0,
    resendAfter: 0,
    busy: false,
    loggedIn: false,
    profile: null,
    error: null,
  },

  onLoad() {
    this.setData({ loggedIn: getApp().signedIn });
  },

  onPhoneInput(e) {
    this.setData({ phone: String(e.detail.value).trim(), error: null });
  },

  onCodeInput(e) {
    this.setData({ code: String(e.detail.value).trim(), error: null });
  },

  async sendCode() {
    const { phone } = this.data;
    if (!PHONE.test(phone)) {
      this.setData({ error: new ApiError({ code: 'invalid_phone', message: '请输入 11 位手机号 Enter an 11-digit mobile number.', field: 'phone' }).toData() });
      return false;
    }
    this.setData({ busy: true, error: null });
    try {
      const sent = await api('/auth/otp', { method: 'POST', data: { phone }, auth: false });
      this.setData({ codeSent: true, codeExpiresIn: sent.expiresIn ?? 0, resendAfter: sent.resendAfter ?? 0 });
      return true;
    } catch (error) {
      this.setData({ error: errorData(error) });
      return false;
    } finally {
      this.setData({ busy: false });
    }
  },

  async login() {
    const { phone, code } = this.data;
    if (!/^\d{6}$/.test(code)) {
      this.setData({ error: new ApiError({ code: 'invalid_code', message: '请输入 6 位验证码 Enter the 6-digit code.', field: 'code' }).toData() });
      return false;
    }
    this.setData({ busy: true, error: null });
    try {
      const tokens = await api('/auth/patient/login', { method: 'POST', data: { phone, code }, auth: false });
      getApp().setTokens(tokens);
      this.setData({ loggedIn: true, code: '' });
      await this.loadProfile();
      return true;
    } catch (error) {
      this.setData({ error: errorData(error) });
      return false;
    } finally {
      this.setData({ busy: false });
    }
  },

  /** GET /api/v1/me: the masked phone and display name shown after sign-in. */
  async loadProfile() {
    try {
      this.setData({ profile: await api('/me') });
    } catch (error) {
      this.setData({ error: errorData(error) });
    }
  },

  logout() {
    getApp().clearTokens();
    this.setData({ loggedIn: false, profile: null, codeSent: false });
  },
});
