// Calls to the BFF for the pages: base URL and bearer token from the app, errors as ApiError
// (the server's {"error": {code, message, field}} shape), one token refresh on
// `401 token_expired` (SPEC.md §8: refresh once, then ask the user to sign in).

import { getApp } from '../app.mjs';
import { request } from './wx.mjs';

export class ApiError extends Error {
  /**
   * status: the HTTP status (0: no answer); code: the server's error code (or a client-side
   * one: `network_error`, `not_signed_in`, `invalid_…`); field and problems when the server
   * names them.
   */
  constructor({ status = 0, code, message, field = null, problems = null }) {
    super(message || code);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
    this.problems = problems;
  }

  static fromResponse(res) {
    const body = res.data && typeof res.data === 'object' ? res.data : {};
    const error = body.error && typeof body.error === 'object' ? body.error : {};
    // `problems` (422 invalid_answers) may sit inside `error` or beside it: read both.
    const problems = Array.isArray(error.problems) ? error.problems : Array.isArray(body.problems) ? body.problems : null;
    return new ApiError({
      status: res.statusCode,
      code: error.code ?? `http_${res.statusCode}`,
      message: error.message ?? (typeof res.data === 'string' && res.data ? res.data.slice(0, 200) : `HTTP ${res.statusCode}`),
      field: error.field ?? null,
      problems,
    });
  }

  /** What a page puts in its data to show the error. */
  toData() {
    const data = { status: this.status, code: this.code, message: this.message };
    if (this.field) data.field = this.field;
    if (this.problems) data.problems = this.problems;
    return data;
  }
}

/** An error as page data: ApiErrors keep their code, anything else becomes `client_error`. */
export function errorData(error) {
  if (error instanceof ApiError) return error.toData();
  return { status: 0, code: 'client_error', message: String(error?.message ?? error) };
}

let refreshing = null;

async function refreshTokens(app) {
  const refreshToken = app.tokens?.refreshToken;
  if (!refreshToken) return false;
  refreshing ??= (async () => {
    try {
      const res = await request({ url: `${app.baseURL}/api/v1/auth/refresh`, method: 'POST', data: { refreshToken } });
      if (res.statusCode !== 200) {
        app.clearTokens();
        return false;
      }
      app.setTokens(res.data);
      return true;
    } catch {
      return false;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/**
 * `api('/prechecks', {method: 'POST', data})` → the parsed body of a 2xx answer; throws
 * ApiError otherwise. `path` is under /api/v1. Options: method, data (JSON body, or the query
 * of a GET), auth (default true: send the patient's bearer token), raw (resolve with the whole
 * `{statusCode, data, header}`), dataType / responseType (as wx.request), header.
 */
export async function api(path, { method = 'GET', data, auth = true, raw = false, dataType = 'json', responseType = 'text', header = {} } = {}) {
  const app = getApp();
  const send = async () => {
    const headers = { ...header };
    if (auth) {
      const token = app.accessToken;
      if (!token) throw new ApiError({ status: 401, code: 'not_signed_in', message: 'Sign in first.' });
      headers.Authorization = `Bearer ${token}`;
    }
    try {
      return await request({ url: `${app.baseURL}/api/v1${path}`, method, data, header: headers, dataType, responseType });
    } catch (error) {
      throw new ApiError({ status: 0, code: 'network_error', message: error.errMsg ?? error.message });
    }
  };
  let res = await send();
  if (auth && res.statusCode === 401 && res.data?.error?.code === 'token_expired' && (await refreshTokens(app))) {
    res = await send();
  }
  if (res.statusCode < 200 || res.statusCode >= 300) throw ApiError.fromResponse(res);
  return raw ? res : res.data;
}

/**
 * The published verification keys (GET /api/v1/keys), cached in storage by kid so pages can
 * verify offline: `{kid: publicKeyPem}`. `refresh: true` asks the server again (unknown kid).
 */
export async function publishedKeys(wxObject, { refresh = false } = {}) {
  const cached = wxObject.getStorageSync('keys.published') || {};
  if (!refresh && Object.keys(cached).length) return cached;
  const body = await api('/keys', { auth: false });
  const keys = { ...cached };
  for (const key of body.keys ?? []) keys[key.kid] = key.publicKeyPem;
  wxObject.setStorageSync('keys.published', keys);
  return keys;
}
