// The patient's messages and synced records, offline-first (SyncProtocol/SPEC.md): pulls the
// patient's collections — notifications, appointments, visitPasses, prechecks — in signed
// pages, verifying each checkpoint (SM3 digest + SM2 signature with the key published under its
// kid at GET /api/v1/keys) before applying it; marks a notification read with the sync push
// mutation markNotificationRead; optionally listens on the live socket (/api/v1/sync/live) and
// pulls when poked. The store (records, cursor, outbox) lives in wx storage, so the page shows
// the last synced state with no network.

import { getApp } from '../../app.mjs';
import { ApiError, api, errorData, publishedKeys } from '../../lib/api.mjs';
import { nowSeconds } from '../../lib/dates.mjs';
import { Page } from '../../lib/page.mjs';
import {
  MemorySyncStore,
  PROTOCOL_VERSION,
  SCHEMA_VERSION,
  decodeCursor,
  pageDigest,
  parseSM2PublicKeyPem,
  verifyCheckpoint,
} from '../../lib/sync-protocol.mjs';
import { wx } from '../../lib/wx.mjs';

export const STORE_KEY = 'sync.store';
export const NEXT_MUTATION_KEY = 'sync.nextMutationId';
export const COLLECTIONS = ['notifications', 'appointments', 'visitPasses', 'prechecks'];
const MAX_PAGES_PER_SYNC = 200;
const PAGE_LIMIT = 500;

const byNewest = (a, b) => (b.createdAt ?? 0) - (a.createdAt ?? 0) || Number(b.id) - Number(a.id);

function loadStore() {
  const saved = wx.getStorageSync(STORE_KEY);
  return new MemorySyncStore(saved || {});
}

export default Page({
  route: 'pages/notifications/index',
  data: {
    notifications: [],
    unread: 0,
    appointments: [],
    visitPasses: [],
    prechecks: [],
    syncing: false,
    lastSyncedAt: null,
    /** Pages whose checkpoint verified and that were applied / that were discarded. */
    pagesVerified: 0,
    pagesRejected: 0,
    lastRejection: '',
    resets: 0,
    pendingMutations: 0,
    lastPushResults: [],
    rejectedMutations: [],
    live: { state: 'closed', hello: null, pokes: 0, lastPoke: null, error: null, closeCode: null },
    error: null,
  },

  async onLoad(query = {}) {
    this.store = loadStore();
    /** Every pull answer received, as received (diagnostics and tests). */
    this.pulledPages = [];
    this.parsedKeys = new Map();
    this.socket = null;
    this.syncing = null;
    this.syncAgain = false;
    this.render();
    if (!getApp().signedIn) {
      this.setData({ error: new ApiError({ status: 401, code: 'not_signed_in', message: '请先登录 Sign in first.' }).toData() });
      return;
    }
    await this.sync();
    if (query.live === 'true' || query.live === true) await this.connectLive();
  },

  onUnload() {
    this.disconnectLive();
  },

  saveStore() {
    const { records, cursor, outbox } = this.store;
    wx.setStorageSync(STORE_KEY, { records, cursor, outbox });
  },

  /** Page data from the store (plus the effect of mutations still in the outbox). */
  render() {
    const records = this.store.records;
    const outbox = this.store.outbox;
    const pendingRead = new Set(outbox.filter((m) => m.name === 'markNotificationRead').map((m) => String(m.args.notificationId)));
    const list = (collection) => Object.entries(records[collection] ?? {}).map(([id, data]) => ({ ...data, id }));
    const notifications = list('notifications')
      .map((n) => ({ ...n, pendingRead: pendingRead.has(n.id), read: Boolean(n.readAt) || pendingRead.has(n.id) }))
      .sort(byNewest);
    this.setData({
      notifications,
      unread: notifications.filter((n) => !n.read).length,
      appointments: list('appointments').sort(byNewest),
      visitPasses: list('visitPasses'),
      prechecks: list('prechecks').sort(byNewest),
      pendingMutations: outbox.length,
    });
  },

  /** A record of the local store (`collection`, `id` as string), or undefined. */
  record(collection, id) {
    return this.store.get(collection, String(id));
  },

  /**
   * Push the outbox, then pull until caught up. Calls made while a sync runs join it (and
   * cause one more round). Resolves true when it completed, false with data.error otherwise.
   */
  sync() {
    if (this.syncing) {
      this.syncAgain = true;
      return this.syncing;
    }
    this.syncing = (async () => {
      let ok = true;
      try {
        do {
          this.syncAgain = false;
          ok = await this.syncOnce();
        } while (this.syncAgain && ok);
      } finally {
        this.syncing = null;
      }
      return ok;
    })();
    return this.syncing;
  },

  async syncOnce() {
    this.setData({ syncing: true, error: null });
    try {
      await this.push();
      await this.pull();
      this.setData({ lastSyncedAt: nowSeconds() });
      return true;
    } catch (error) {
      this.setData({ error: errorData(error) });
      return false;
    } finally {
      this.render();
      this.setData({ syncing: false });
    }
  },

  async publicKey(kid) {
    if (this.parsedKeys.has(kid)) return this.parsedKeys.get(kid);
    let keys = await publishedKeys(wx);
    if (!keys[kid]) keys = await publishedKeys(wx, { refresh: true });
    if (!keys[kid]) return null;
    const key = parseSM2PublicKeyPem(keys[kid]);
    this.parsedKeys.set(kid, key);
    return key;
  },

  /** Verifies and applies one pull answer: null when applied, else why it was discarded. */
  async applyPage(page) {
    const checkpoint = page?.checkpoint;
    if (!checkpoint || typeof checkpoint.kid !== 'string') return 'the page has no checkpoint';
    const key = await this.publicKey(checkpoint.kid);
    if (!key) return `no published key ${checkpoint.kid}`;
    try {
      const digest = pageDigest(page);
      if (digest !== checkpoint.digest) return `digest mismatch: computed ${digest}, page says ${checkpoint.digest}`;
      if (!verifyCheckpoint(page, key)) return `the SM2 signature of ${digest} does not verify with key ${checkpoint.kid}`;
    } catch (error) {
      return `the checkpoint cannot be computed: ${error.message}`;
    }
    try {
      this.store.applyPage(page);
    } catch (error) {
      return `the page cannot be applied: ${error.message}`;
    }
    this.saveStore();
    this.setData({ pagesVerified: this.data.pagesVerified + 1, resets: this.data.resets + (page.reset ? 1 : 0) });
    return null;
  },

  /** Pulls until hasMore is false. A page that does not verify is discarded and pulled again;
   * after three in a row the client resets (cursor null), and gives up after three more. */
  async pull({ waitSeconds = 0 } = {}) {
    let failures = 0;
    let resetDone = false;
    const clientId = getApp().clientId;
    for (let round = 0; round < MAX_PAGES_PER_SYNC; round++) {
      const body = { protocolVersion: PROTOCOL_VERSION, schemaVersion: SCHEMA_VERSION, clientId, cursor: this.store.cursor, limit: PAGE_LIMIT };
      if (waitSeconds > 0 && round === 0) body.waitSeconds = waitSeconds;
      const page = await api('/sync/pull', { method: 'POST', data: body });
      this.pulledPages.push(page);
      const problem = await this.applyPage(page);
      if (problem) {
        failures += 1;
        this.setData({ pagesRejected: this.data.pagesRejected + 1, lastRejection: problem });
        if (failures >= 3) {
          if (resetDone) throw new ApiError({ code: 'checkpoint_invalid', message: `Sync pages do not verify: ${problem}` });
          resetDone = true;
          failures = 0;
          const { records, outbox } = this.store;
          this.store = new MemorySyncStore({ records, cursor: null, outbox });
          this.saveStore();
        }
        continue;
      }
      failures = 0;
      if (!page.hasMore) return;
    }
    throw new ApiError({ code: 'sync_incomplete', message: `Still more to pull after ${MAX_PAGES_PER_SYNC} pages.` });
  },

  /** Pushes the outbox (oldest first, ≤ 100). Rejected mutations leave it and are shown;
   * applied ones leave it when a pull's lastMutationId covers them. */
  async push() {
    const outbox = this.store.outbox;
    if (!outbox.length) return [];
    const batch = outbox.slice(0, 100).map(({ id, name, args }) => ({ id, name, args }));
    const { results = [] } = await api('/sync/push', { method: 'POST', data: { protocolVersion: PROTOCOL_VERSION, clientId: getApp().clientId, mutations: batch } });
    const rejected = results.filter((result) => result.status === 'rejected');
    if (rejected.length) {
      const ids = new Set(rejected.map((result) => result.id));
      const { records, cursor } = this.store;
      this.store = new MemorySyncStore({ records, cursor, outbox: this.store.outbox.filter((m) => !ids.has(m.id)) });
      this.saveStore();
      this.setData({ rejectedMutations: [...this.data.rejectedMutations, ...rejected] });
    }
    this.setData({ lastPushResults: results });
    return results;
  },

  /** Queues a mutation in the outbox (ids strictly increase per installation). */
  enqueue(name, args) {
    const id = Math.max(Number(wx.getStorageSync(NEXT_MUTATION_KEY)) || 1, ...this.store.outbox.map((m) => m.id + 1));
    wx.setStorageSync(NEXT_MUTATION_KEY, id + 1);
    const { records, cursor, outbox } = this.store;
    this.store = new MemorySyncStore({ records, cursor, outbox: [...outbox, { id, name, args }] });
    this.saveStore();
    this.render();
    return id;
  },

  /** Marks a notification read: shown read at once, sent with the next sync (now, if online). */
  async markRead(notificationId) {
    const mutationId = this.enqueue('markNotificationRead', { notificationId: Number(notificationId) });
    await this.sync();
    return mutationId;
  },

  onNotificationTap(e) {
    const { id, read } = e.currentTarget.dataset;
    if (!read) return this.markRead(id);
    return null;
  },

  /** Opens the live socket; resolves true once open, false when it cannot be used. */
  connectLive() {
    const app = getApp();
    if (this.socket) return Promise.resolve(this.data.live.state === 'open');
    const url = `${app.baseURL.replace(/^http/, 'ws')}/api/v1/sync/live`;
    this.setData({ 'live.state': 'connecting', 'live.error': null, 'live.closeCode': null });
    return new Promise((resolve) => {
      const task = wx.connectSocket({
        url,
        header: { Authorization: `Bearer ${app.accessToken}` },
        fail: ({ errMsg }) => {
          this.setData({ 'live.state': 'unavailable', 'live.error': errMsg });
          this.socket = null;
          resolve(false);
        },
      });
      if (this.data.live.state === 'unavailable') return;
      this.socket = task;
      task.onOpen(() => {
        this.setData({ 'live.state': 'open' });
        resolve(true);
      });
      task.onMessage(({ data }) => this.onLiveMessage(data));
      task.onError(({ errMsg }) => {
        this.setData({ 'live.error': errMsg });
        resolve(false);
      });
      task.onClose(({ code }) => {
        if (this.socket === task) this.socket = null;
        this.setData({ 'live.state': 'closed', 'live.closeCode': code ?? null });
        resolve(false);
      });
    });
  },

  onLiveMessage(data) {
    let message;
    try {
      message = JSON.parse(typeof data === 'string' ? data : new TextDecoder().decode(data));
    } catch {
      return;
    }
    const known = decodeCursor(this.store.cursor ?? '')?.n ?? -1;
    if (message.type === 'hello') {
      this.setData({ 'live.hello': message.version ?? null });
      if (typeof message.version === 'number' && message.version > known) this.sync();
    } else if (message.type === 'poke') {
      this.setData({ 'live.pokes': this.data.live.pokes + 1, 'live.lastPoke': message.version ?? null });
      this.sync();
    }
  },

  disconnectLive() {
    if (this.socket) this.socket.close({ code: 1000, reason: 'page closed' });
  },
});
