// A `wx` shim for node: the few WeChat mini-program APIs the patient pages use, so the pages
// run unchanged under `node --test` against a live server.
//
// - wx.request: callback style like WeChat (success / fail / complete), over fetch. `success`
//   gets {statusCode, data, header, errMsg} for every HTTP answer (4xx and 5xx included);
//   `fail` only when no answer came (connection refused, DNS, timeout, abort).
// - wx.setStorageSync / getStorageSync / removeStorageSync / clearStorageSync /
//   getStorageInfoSync: an in-memory Map, persisted as JSON to the file named by
//   WX_STORAGE_FILE when that is set (so a second run starts "offline" with the first's data).
// - wx.connectSocket: a SocketTask over the global WebSocket (node 20: run with
//   --experimental-websocket; node ≥ 22 has it by default). Without it, `fail` says so.
//
// `request(options)` is the promise form the pages use: it resolves with the response for any
// status and rejects (with an Error carrying errMsg) only on network failure.
//
// No npm packages; node built-ins and web globals only.

import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';

const DEFAULT_TIMEOUT_MS = 60_000; // WeChat's default request timeout

/** Lower-cased header names → values, from a fetch Headers object. */
function headerObject(headers) {
  const out = {};
  for (const [name, value] of headers) out[name] = value;
  return out;
}

function hasHeader(header, name) {
  return Object.keys(header).some((key) => key.toLowerCase() === name);
}

/** WeChat sends GET data as a query string (objects only; strings are appended as is). */
function withQuery(url, data) {
  if (data === undefined || data === null || data === '') return url;
  let query;
  if (typeof data === 'string') query = data;
  else {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(data)) {
      if (value === undefined || value === null) continue;
      params.append(key, typeof value === 'object' ? JSON.stringify(value) : String(value));
    }
    query = params.toString();
  }
  if (!query) return url;
  return url + (url.includes('?') ? '&' : '?') + query;
}

function call(callback, value) {
  if (typeof callback !== 'function') return;
  try {
    callback(value);
  } catch (error) {
    // WeChat reports exceptions in callbacks without breaking the request; so do we.
    queueMicrotask(() => {
      throw error;
    });
  }
}

function makeStorage(file) {
  let map = null;
  const load = () => {
    if (map) return map;
    map = new Map();
    if (file) {
      let text = null;
      try {
        text = readFileSync(file, 'utf8');
      } catch (error) {
        if (error.code !== 'ENOENT') throw error;
      }
      if (text) for (const [key, value] of Object.entries(JSON.parse(text))) map.set(key, value);
    }
    return map;
  };
  const save = () => {
    if (!file) return;
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(Object.fromEntries(map)), { mode: 0o600 });
    renameSync(temporary, file);
  };
  const checkKey = (key) => {
    if (typeof key !== 'string' || key === '') throw new TypeError('storage key must be a non-empty string');
  };
  return {
    setStorageSync(key, value) {
      checkKey(key);
      if (value === undefined) throw new TypeError(`setStorageSync(${key}): undefined cannot be stored`);
      // Stored as data (like WeChat): a later change to `value` does not reach the store.
      load().set(key, JSON.parse(JSON.stringify(value)));
      save();
    },
    /** The stored value, or '' when there is none (as WeChat answers). */
    getStorageSync(key) {
      checkKey(key);
      const value = load().get(key);
      return value === undefined ? '' : JSON.parse(JSON.stringify(value));
    },
    removeStorageSync(key) {
      checkKey(key);
      if (load().delete(key)) save();
    },
    clearStorageSync() {
      load().clear();
      save();
    },
    getStorageInfoSync() {
      const entries = load();
      const keys = [...entries.keys()];
      const bytes = Buffer.byteLength(JSON.stringify(Object.fromEntries(entries)));
      return { keys, currentSize: Math.ceil(bytes / 1024), limitSize: 10 * 1024 };
    },
  };
}

const SOCKET_STATES = { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 };

/** A WeChat SocketTask over a WebSocket (or a dead one when there is none). */
class SocketTask {
  #socket = null;
  #opened = false;
  #closed = false;
  #handlers = { open: [], message: [], close: [], error: [] };

  constructor(socket) {
    this.#socket = socket;
    if (!socket) {
      this.#closed = true;
      return;
    }
    socket.binaryType = 'arraybuffer';
    socket.addEventListener('open', () => {
      this.#opened = true;
      this.#emit('open', { header: {}, profile: {} });
    });
    socket.addEventListener('message', (event) => this.#emit('message', { data: event.data }));
    socket.addEventListener('error', (event) => {
      const errMsg = `socket error: ${event.message ?? event.error?.message ?? 'connection failed'}`;
      this.#emit('error', { errMsg });
      // undici (node 20–22) never fires `close` when the handshake fails (a 401 instead of
      // 101): the socket stays CONNECTING. Close it here, as a browser would (code 1006).
      if (!this.#opened) this.#closeWith({ code: 1006, reason: errMsg });
    });
    socket.addEventListener('close', (event) => this.#closeWith({ code: event.code, reason: event.reason }));
  }

  #closeWith(result) {
    if (this.#closed) return;
    this.#closed = true;
    this.#emit('close', result);
  }

  get readyState() {
    if (this.#closed) return SOCKET_STATES.CLOSED;
    return this.#socket ? this.#socket.readyState : SOCKET_STATES.CLOSED;
  }

  #emit(kind, value) {
    for (const handler of [...this.#handlers[kind]]) call(handler, value);
  }

  /** For the shim itself: report a failure to the onError listeners. */
  _fail(errMsg) {
    this.#emit('error', { errMsg });
  }

  onOpen(handler) {
    this.#handlers.open.push(handler);
  }

  onMessage(handler) {
    this.#handlers.message.push(handler);
  }

  onClose(handler) {
    this.#handlers.close.push(handler);
  }

  onError(handler) {
    this.#handlers.error.push(handler);
  }

  send({ data, success, fail, complete } = {}) {
    if (!this.#socket || this.#socket.readyState !== SOCKET_STATES.OPEN) {
      const result = { errMsg: 'sendSocketMessage:fail the socket is not open' };
      call(fail, result);
      call(complete, result);
      return;
    }
    try {
      this.#socket.send(data);
    } catch (error) {
      const result = { errMsg: `sendSocketMessage:fail ${error.message}` };
      call(fail, result);
      call(complete, result);
      return;
    }
    const result = { errMsg: 'sendSocketMessage:ok' };
    call(success, result);
    call(complete, result);
  }

  close({ code = 1000, reason = '', success, complete } = {}) {
    if (this.#socket && this.#socket.readyState < SOCKET_STATES.CLOSING) this.#socket.close(code, reason);
    const result = { errMsg: 'closeSocket:ok' };
    call(success, result);
    call(complete, result);
  }
}

/**
 * One HTTP exchange over node:http(s) — not fetch: node's WebSocket shares fetch's connection
 * pool, and a WebSocket upgrade sent on a kept-alive connection that already carried requests
 * is not answered by servers that upgrade only a connection's first request (SwiftNIO's). A
 * phone's WebSocket always opens its own connection; this keeps the two pools apart likewise.
 */
function httpRequest(url, { method, headers, body, signal }) {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const client = target.protocol === 'https:' ? https : http;
    const payload = body === undefined ? undefined : typeof body === 'string' ? Buffer.from(body) : Buffer.from(ArrayBuffer.isView(body) ? body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) : body);
    const outgoing = { ...headers };
    if (payload !== undefined) outgoing['content-length'] = String(payload.length);
    const req = client.request(target, { method, headers: outgoing, signal }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const bytes = Buffer.concat(chunks);
        const headerMap = new Map();
        for (const [name, value] of Object.entries(res.headers)) headerMap.set(name, Array.isArray(value) ? value.join(', ') : value);
        resolve({
          status: res.statusCode,
          headers: headerMap,
          text: () => bytes.toString('utf8'),
          arrayBuffer: () => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
        });
      });
    });
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/**
 * A `wx` object. `storageFile`: where storage persists (default: none, memory only).
 * `WebSocket`: the constructor to use (default: the global one; null: none, for tests).
 */
export function createWx({ storageFile = null, WebSocket: WebSocketImpl = globalThis.WebSocket } = {}) {
  const storage = makeStorage(storageFile);

  function request({ url, method = 'GET', data, header = {}, timeout = DEFAULT_TIMEOUT_MS, dataType = 'json', responseType = 'text', success, fail, complete } = {}) {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeout);
    const verb = String(method).toUpperCase();
    const headers = { ...header };
    let target = url;
    let body;
    if (verb === 'GET' || verb === 'HEAD') {
      target = withQuery(url, data);
    } else if (data !== undefined && data !== null) {
      if (typeof data === 'string' || data instanceof ArrayBuffer || ArrayBuffer.isView(data)) {
        body = data;
      } else {
        body = JSON.stringify(data);
        if (!hasHeader(headers, 'content-type')) headers['content-type'] = 'application/json';
      }
    }

    (async () => {
      let result;
      let ok = false;
      try {
        const response = await httpRequest(target, { method: verb, headers, body, signal: controller.signal });
        let payload;
        if (responseType === 'arraybuffer') {
          payload = response.arrayBuffer();
        } else {
          payload = response.text();
          if (dataType === 'json' && payload !== '') {
            try {
              payload = JSON.parse(payload);
            } catch {
              // Not JSON: WeChat hands over the text.
            }
          }
        }
        result = { statusCode: response.status, data: payload, header: headerObject(response.headers), errMsg: 'request:ok' };
        ok = true;
      } catch (error) {
        const reason = timedOut ? 'timeout' : controller.signal.aborted ? 'abort' : (error.cause?.code ?? error.cause?.message ?? error.message);
        result = { errMsg: `request:fail ${reason}` };
      } finally {
        clearTimeout(timer);
      }
      call(ok ? success : fail, result);
      call(complete, result);
    })();

    return {
      abort() {
        controller.abort();
      },
    };
  }

  function connectSocket({ url, header = {}, protocols, success, fail, complete } = {}) {
    if (typeof WebSocketImpl !== 'function') {
      const result = {
        errMsg: 'connectSocket:fail WebSocket is not available in this node runtime (node 20: run with --experimental-websocket)',
      };
      const task = new SocketTask(null);
      call(fail, result);
      call(complete, result);
      setTimeout(() => task._fail(result.errMsg), 0);
      return task;
    }
    let socket;
    try {
      // undici's WebSocket (node's global) takes request headers in its second argument:
      // the bearer token travels in the upgrade request, as the server expects.
      socket = new WebSocketImpl(url, { protocols, headers: header });
    } catch (error) {
      const result = { errMsg: `connectSocket:fail ${error.message}` };
      const task = new SocketTask(null);
      call(fail, result);
      call(complete, result);
      setTimeout(() => task._fail(result.errMsg), 0);
      return task;
    }
    const task = new SocketTask(socket);
    const result = { errMsg: 'connectSocket:ok' };
    call(success, result);
    call(complete, result);
    return task;
  }

  return {
    request,
    connectSocket,
    ...storage,
    /** True when connectSocket can work in this runtime. */
    get canUseWebSocket() {
      return typeof WebSocketImpl === 'function';
    },
  };
}

/** The shared `wx` (like the global one in a mini-program). */
export const wx = createWx({ storageFile: globalThis.process?.env?.WX_STORAGE_FILE || null });

/** wx.request as a promise: the response for any HTTP status; rejects on network failure. */
export function request(options, wxObject = wx) {
  return new Promise((resolve, reject) => {
    wxObject.request({
      ...options,
      success: resolve,
      fail: (result) => reject(Object.assign(new Error(result.errMsg), { errMsg: result.errMsg })),
    });
  });
}
