// Unit tests of the wx shim (lib/wx.mjs) against local node servers started here; no
// HealthCloud server needed. The socket tests need a global WebSocket (node 20:
// `node --experimental-websocket --test`); without it they check that connectSocket fails
// clearly instead.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { createWx, request } from '../lib/wx.mjs';

// ---------------------------------------------------------------- a local HTTP server

function listen(server) {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${server.address().port}`)));
}

const close = (server) => new Promise((resolve) => server.close(resolve));

function echoServer() {
  return http.createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url, 'http://localhost');
    if (url.pathname === '/echo') {
      res.writeHead(200, { 'content-type': 'application/json', 'x-echo': 'yes' });
      res.end(JSON.stringify({ method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams), headers: req.headers, body }));
    } else if (url.pathname === '/missing') {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'slot_not_found', message: 'No slot 7.' } }));
    } else if (url.pathname === '/boom') {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error');
    } else if (url.pathname === '/svg') {
      res.writeHead(200, { 'content-type': 'image/svg+xml' });
      res.end('<svg xmlns="http://www.w3.org/2000/svg"/>');
    } else if (url.pathname === '/json-text') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"a":1}');
    } else if (url.pathname === '/empty') {
      res.writeHead(204);
      res.end();
    } else if (url.pathname === '/slow') {
      setTimeout(() => {
        if (!res.destroyed) res.end('late');
      }, 2_000).unref();
    } else {
      res.writeHead(404);
      res.end();
    }
  });
}

/** wx.request with callbacks recorded: resolves once `complete` ran. */
function record(wx, options) {
  return new Promise((resolve) => {
    const calls = { success: [], fail: [], complete: [] };
    wx.request({
      ...options,
      success: (res) => calls.success.push(res),
      fail: (res) => calls.fail.push(res),
      complete: (res) => {
        calls.complete.push(res);
        // Let a (wrong) second callback show up before checking.
        setTimeout(() => resolve(calls), 20);
      },
    });
  });
}

describe('wx.request', () => {
  let server;
  let base;
  const wx = createWx();

  before(async () => {
    server = echoServer();
    base = await listen(server);
  });
  after(() => close(server));

  test('GET: data becomes the query, headers are sent, JSON is parsed, response headers come back', async () => {
    const calls = await record(wx, { url: `${base}/echo`, data: { date: '2026-11-29', n: 3, skip: undefined }, header: { Authorization: 'Bearer t1' } });
    assert.equal(calls.fail.length, 0);
    assert.equal(calls.success.length, 1);
    assert.equal(calls.complete.length, 1);
    const res = calls.success[0];
    assert.equal(res.statusCode, 200);
    assert.equal(res.data.method, 'GET');
    assert.deepEqual(res.data.query, { date: '2026-11-29', n: '3' });
    assert.equal(res.data.headers.authorization, 'Bearer t1');
    assert.equal(res.data.body, '');
    assert.equal(res.header['x-echo'], 'yes');
    assert.equal(res.header['content-type'], 'application/json');
    assert.equal(res.errMsg, 'request:ok');
  });

  test('GET: a URL that has a query keeps it', async () => {
    const calls = await record(wx, { url: `${base}/echo?format=fhir`, data: { a: 'b c' } });
    assert.deepEqual(calls.success[0].data.query, { format: 'fhir', a: 'b c' });
  });

  test('POST: an object is sent as JSON with content-type application/json', async () => {
    const calls = await record(wx, { url: `${base}/echo`, method: 'POST', data: { slotId: 812, precheckId: 17, answers: { temperature: 38.6 } } });
    const echoed = calls.success[0].data;
    assert.equal(echoed.method, 'POST');
    assert.match(echoed.headers['content-type'], /^application\/json/);
    assert.deepEqual(JSON.parse(echoed.body), { slotId: 812, precheckId: 17, answers: { temperature: 38.6 } });
  });

  test('POST: a given content-type and a string body are kept', async () => {
    const calls = await record(wx, { url: `${base}/echo`, method: 'post', data: 'a=1&b=2', header: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    const echoed = calls.success[0].data;
    assert.equal(echoed.method, 'POST');
    assert.equal(echoed.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(echoed.body, 'a=1&b=2');
  });

  test('DELETE without data sends no body', async () => {
    const calls = await record(wx, { url: `${base}/echo`, method: 'DELETE' });
    assert.equal(calls.success[0].data.method, 'DELETE');
    assert.equal(calls.success[0].data.body, '');
    assert.equal(calls.success[0].data.headers['content-type'], undefined);
  });

  test('an HTTP error status is a success callback with statusCode and the parsed error', async () => {
    const calls = await record(wx, { url: `${base}/missing` });
    assert.equal(calls.fail.length, 0);
    assert.equal(calls.success[0].statusCode, 404);
    assert.deepEqual(calls.success[0].data, { error: { code: 'slot_not_found', message: 'No slot 7.' } });
  });

  test('a body that is not JSON is handed over as text', async () => {
    const boom = await record(wx, { url: `${base}/boom` });
    assert.equal(boom.success[0].statusCode, 500);
    assert.equal(boom.success[0].data, 'internal error');
    const svg = await record(wx, { url: `${base}/svg` });
    assert.equal(svg.success[0].data, '<svg xmlns="http://www.w3.org/2000/svg"/>');
    assert.equal(svg.success[0].header['content-type'], 'image/svg+xml');
  });

  test("dataType other than 'json' leaves JSON text alone; responseType arraybuffer gives bytes", async () => {
    const text = await record(wx, { url: `${base}/json-text`, dataType: 'text' });
    assert.equal(text.success[0].data, '{"a":1}');
    const bytes = await record(wx, { url: `${base}/svg`, responseType: 'arraybuffer' });
    assert.ok(bytes.success[0].data instanceof ArrayBuffer);
    assert.equal(Buffer.from(bytes.success[0].data).toString(), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  });

  test('an empty body is an empty string', async () => {
    const calls = await record(wx, { url: `${base}/empty` });
    assert.equal(calls.success[0].statusCode, 204);
    assert.equal(calls.success[0].data, '');
  });

  test('a refused connection calls fail (and complete), never success', async () => {
    const dead = http.createServer();
    const url = await listen(dead);
    await close(dead);
    const calls = await record(wx, { url: `${url}/echo` });
    assert.equal(calls.success.length, 0);
    assert.equal(calls.fail.length, 1);
    assert.equal(calls.complete.length, 1);
    assert.match(calls.fail[0].errMsg, /^request:fail /);
    assert.match(calls.fail[0].errMsg, /ECONNREFUSED/);
  });

  test('a timeout calls fail with request:fail timeout', async () => {
    const calls = await record(wx, { url: `${base}/slow`, timeout: 100 });
    assert.equal(calls.success.length, 0);
    assert.equal(calls.fail[0].errMsg, 'request:fail timeout');
  });

  test('abort() calls fail with request:fail abort', async () => {
    const calls = await new Promise((resolve) => {
      const seen = { success: 0, fail: [] };
      const task = wx.request({
        url: `${base}/slow`,
        success: () => seen.success++,
        fail: (res) => seen.fail.push(res),
        complete: () => setTimeout(() => resolve(seen), 20),
      });
      setTimeout(() => task.abort(), 50);
    });
    assert.equal(calls.success, 0);
    assert.equal(calls.fail[0].errMsg, 'request:fail abort');
  });

  test('request(): resolves with the response for any status, rejects on a network failure', async () => {
    const res = await request({ url: `${base}/boom` }, wx);
    assert.equal(res.statusCode, 500);
    const ok = await request({ url: `${base}/echo`, method: 'POST', data: { x: 1 } }, wx);
    assert.equal(ok.statusCode, 200);
    assert.deepEqual(JSON.parse(ok.data.body), { x: 1 });
    const dead = http.createServer();
    const url = await listen(dead);
    await close(dead);
    await assert.rejects(request({ url }, wx), (error) => {
      assert.match(error.errMsg, /^request:fail /);
      return true;
    });
  });
});

// ---------------------------------------------------------------- storage

describe('wx storage', () => {
  test('set, get, remove, clear; missing keys read as empty string', () => {
    const wx = createWx();
    assert.equal(wx.getStorageSync('nothing'), '');
    wx.setStorageSync('auth.tokens', { accessToken: 'a', refreshToken: 'r' });
    wx.setStorageSync('count', 0);
    wx.setStorageSync('flag', false);
    assert.deepEqual(wx.getStorageSync('auth.tokens'), { accessToken: 'a', refreshToken: 'r' });
    assert.equal(wx.getStorageSync('count'), 0);
    assert.equal(wx.getStorageSync('flag'), false);
    assert.deepEqual(wx.getStorageInfoSync().keys.sort(), ['auth.tokens', 'count', 'flag']);
    wx.removeStorageSync('count');
    assert.equal(wx.getStorageSync('count'), '');
    wx.removeStorageSync('count'); // removing twice is fine
    wx.clearStorageSync();
    assert.deepEqual(wx.getStorageInfoSync().keys, []);
  });

  test('values are stored as data, not shared objects', () => {
    const wx = createWx();
    const value = { list: [1, 2] };
    wx.setStorageSync('v', value);
    value.list.push(3);
    const read = wx.getStorageSync('v');
    assert.deepEqual(read, { list: [1, 2] });
    read.list.push(4);
    assert.deepEqual(wx.getStorageSync('v'), { list: [1, 2] });
    assert.throws(() => wx.setStorageSync('', 1), TypeError);
    assert.throws(() => wx.setStorageSync('u', undefined), TypeError);
  });

  test('with a storage file, a second wx (a restarted app) reads what the first stored', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'wx-storage-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'storage.json');
    const first = createWx({ storageFile: file });
    first.setStorageSync('pass.41', { token: 'HCP1.x.y' });
    first.setStorageSync('gone', 1);
    first.removeStorageSync('gone');
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { 'pass.41': { token: 'HCP1.x.y' } });
    const second = createWx({ storageFile: file });
    assert.deepEqual(second.getStorageSync('pass.41'), { token: 'HCP1.x.y' });
    assert.equal(second.getStorageSync('gone'), '');
  });

  test('the shared wx persists to WX_STORAGE_FILE', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'wx-storage-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'storage.json');
    const moduleURL = new URL('../lib/wx.mjs', import.meta.url).href;
    const script = `import { wx } from ${JSON.stringify(moduleURL)}; wx.setStorageSync('k', wx.getStorageSync('k') + 'x');`;
    const env = { ...process.env, WX_STORAGE_FILE: file };
    execFileSync(process.execPath, ['--input-type=module', '-e', script], { env });
    execFileSync(process.execPath, ['--input-type=module', '-e', script], { env });
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { k: 'xx' });
  });
});

// ---------------------------------------------------------------- sockets

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

function wsFrame(opcode, payload) {
  const data = Buffer.from(payload);
  let header;
  if (data.length < 126) header = Buffer.from([0x80 | opcode, data.length]);
  else if (data.length < 65536) {
    header = Buffer.alloc(4);
    header[0] = 0x80 | opcode;
    header[1] = 126;
    header.writeUInt16BE(data.length, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = 0x80 | opcode;
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(data.length), 2);
  }
  return Buffer.concat([header, data]);
}

/** One complete frame at the start of `buffer`: {opcode, payload, length} or null. */
function wsParse(buffer) {
  if (buffer.length < 2) return null;
  const opcode = buffer[0] & 0x0f;
  const masked = (buffer[1] & 0x80) !== 0;
  let length = buffer[1] & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (buffer.length < 4) return null;
    length = buffer.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (buffer.length < 10) return null;
    length = Number(buffer.readBigUInt64BE(2));
    offset = 10;
  }
  let mask = null;
  if (masked) {
    if (buffer.length < offset + 4) return null;
    mask = buffer.subarray(offset, offset + 4);
    offset += 4;
  }
  if (buffer.length < offset + length) return null;
  const payload = Buffer.from(buffer.subarray(offset, offset + length));
  if (mask) for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i % 4];
  return { opcode, payload, length: offset + length };
}

/**
 * A minimal WebSocket server (RFC 6455, text frames, no extensions), shaped like the live sync
 * route: the bearer token must be in the upgrade request; it says hello, then echoes.
 */
function liveServer() {
  const upgrades = [];
  const server = http.createServer((req, res) => {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end('{"error":{"code":"websocket_required","message":"upgrade"}}');
  });
  server.on('upgrade', (req, socket) => {
    upgrades.push(req.headers);
    socket.on('error', () => {});
    if (req.headers.authorization !== 'Bearer good') {
      socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    const accept = createHash('sha1').update(req.headers['sec-websocket-key'] + GUID).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    socket.write(wsFrame(1, JSON.stringify({ type: 'hello', version: 7 })));
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (let frame = wsParse(buffer); frame; frame = wsParse(buffer)) {
        buffer = buffer.subarray(frame.length);
        if (frame.opcode === 1) socket.write(wsFrame(1, `echo:${frame.payload.toString('utf8')}`));
        else if (frame.opcode === 9) socket.write(wsFrame(10, frame.payload));
        else if (frame.opcode === 8) {
          socket.end(wsFrame(8, frame.payload));
          return;
        }
      }
    });
  });
  return { server, upgrades };
}

/** Collects a SocketTask's events; `next(kind)` takes the next unseen event of that kind. */
function watch(task) {
  const events = [];
  const unseen = { open: [], message: [], close: [], error: [] };
  const waiting = { open: [], message: [], close: [], error: [] };
  const push = (kind) => (value) => {
    events.push({ kind, value });
    const waiter = waiting[kind].shift();
    if (waiter) waiter(value);
    else unseen[kind].push(value);
  };
  task.onOpen(push('open'));
  task.onMessage(push('message'));
  task.onClose(push('close'));
  task.onError(push('error'));
  return {
    events,
    next(kind, timeoutMs = 5_000) {
      if (unseen[kind].length) return Promise.resolve(unseen[kind].shift());
      return new Promise((resolve, reject) => {
        const waiter = (value) => {
          clearTimeout(timer);
          resolve(value);
        };
        const timer = setTimeout(() => {
          waiting[kind].splice(waiting[kind].indexOf(waiter), 1);
          reject(new Error(`no ${kind} event within ${timeoutMs} ms`));
        }, timeoutMs);
        waiting[kind].push(waiter);
      });
    },
  };
}

describe('wx.connectSocket', () => {
  test('without a WebSocket implementation, fail says how to get one', async () => {
    const wx = createWx({ WebSocket: null });
    assert.equal(wx.canUseWebSocket, false);
    const seen = { success: 0, fail: [], complete: 0 };
    const task = wx.connectSocket({
      url: 'ws://127.0.0.1:9/api/v1/sync/live',
      header: { Authorization: 'Bearer good' },
      success: () => seen.success++,
      fail: (res) => seen.fail.push(res),
      complete: () => seen.complete++,
    });
    assert.equal(seen.success, 0);
    assert.equal(seen.complete, 1);
    assert.match(seen.fail[0].errMsg, /^connectSocket:fail /);
    assert.match(seen.fail[0].errMsg, /--experimental-websocket/);
    // Listeners registered right after the call hear about it too; sending fails.
    const error = await new Promise((resolve) => task.onError(resolve));
    assert.match(error.errMsg, /WebSocket is not available/);
    const sent = await new Promise((resolve) => task.send({ data: 'x', fail: resolve }));
    assert.match(sent.errMsg, /not open/);
    assert.equal(task.readyState, 3);
  });

  const noWebSocket = typeof globalThis.WebSocket !== 'function' && 'no global WebSocket in this node: run `node --experimental-websocket --test`';

  test('opens with the header, receives, sends, closes', { skip: noWebSocket }, async (t) => {
    const { server, upgrades } = liveServer();
    const base = await listen(server);
    t.after(() => {
      server.closeAllConnections?.();
      return close(server);
    });
    const wx = createWx();
    assert.equal(wx.canUseWebSocket, true);
    let succeeded = 0;
    const task = wx.connectSocket({ url: `${base.replace('http', 'ws')}/api/v1/sync/live`, header: { Authorization: 'Bearer good' }, success: () => succeeded++ });
    assert.equal(succeeded, 1);
    const events = watch(task);
    await events.next('open');
    assert.equal(upgrades[0].authorization, 'Bearer good');
    assert.equal(task.readyState, 1);
    const hello = await events.next('message');
    assert.deepEqual(JSON.parse(hello.data), { type: 'hello', version: 7 });
    const sent = await new Promise((resolve) => task.send({ data: 'ping?', success: resolve }));
    assert.equal(sent.errMsg, 'sendSocketMessage:ok');
    const echo = await events.next('message');
    assert.equal(echo.data, 'echo:ping?');
    task.close({ code: 1000, reason: 'bye' });
    const closed = await events.next('close');
    assert.equal(closed.code, 1000);
    assert.equal(events.events.filter((event) => event.kind === 'error').length, 0);
  });

  test('a refused upgrade (401) reports an error and a close', { skip: noWebSocket }, async (t) => {
    const { server, upgrades } = liveServer();
    const base = await listen(server);
    t.after(() => {
      server.closeAllConnections?.();
      return close(server);
    });
    const task = createWx().connectSocket({ url: `${base.replace('http', 'ws')}/api/v1/sync/live`, header: { Authorization: 'Bearer wrong' } });
    const events = watch(task);
    const error = await events.next('error');
    assert.match(error.errMsg, /socket error/);
    const closed = await events.next('close');
    assert.notEqual(closed.code, 1000);
    assert.equal(upgrades[0].authorization, 'Bearer wrong');
    assert.equal(events.events.filter((event) => event.kind === 'open').length, 0);
  });
});
