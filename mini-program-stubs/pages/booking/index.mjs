// Book a slot with the pre-check that referred the patient; show or cancel the appointment.
// POST /api/v1/appointments {slotId, precheckId} → 201; GET / DELETE /api/v1/appointments/{id}.

import { ApiError, api, errorData } from '../../lib/api.mjs';
import { Page } from '../../lib/page.mjs';
import { wx } from '../../lib/wx.mjs';
import { PRECHECK_KEY } from '../precheck/index.mjs';

export const APPOINTMENT_KEY = 'journey.appointment';

const STATUS_TEXT = {
  booked: '已预约 Booked',
  cancelled: '已取消 Cancelled',
  checked_in: '已签到 Checked in',
  no_show: '已过号 Missed',
};

/** A positive integer from a query string value, or null. */
const positiveInteger = (value) => {
  const number = typeof value === 'number' ? value : /^\d+$/.test(String(value ?? '')) ? Number(value) : NaN;
  return Number.isSafeInteger(number) && number > 0 ? number : null;
};

export default Page({
  route: 'pages/booking/index',
  data: {
    slotId: null,
    precheckId: null,
    appointment: null,
    statusText: '',
    busy: false,
    error: null,
  },

  async onLoad(query = {}) {
    // Query values arrive as strings; keep what was given so a bad one can be reported.
    const stored = wx.getStorageSync(PRECHECK_KEY);
    this.setData({
      slotId: query.slotId ?? null,
      precheckId: query.precheckId ?? (stored ? stored.id : null),
    });
    if (query.appointmentId) await this.load(query.appointmentId);
  },

  show(appointment) {
    wx.setStorageSync(APPOINTMENT_KEY, { id: appointment.id, status: appointment.status, date: appointment.date });
    this.setData({ appointment, statusText: STATUS_TEXT[appointment.status] ?? appointment.status });
  },

  async book() {
    const slotId = positiveInteger(this.data.slotId);
    const precheckId = positiveInteger(this.data.precheckId);
    if (slotId === null) {
      this.setData({ error: new ApiError({ code: 'invalid_slot', message: '请选择号源 Choose a slot first.', field: 'slotId' }).toData() });
      return null;
    }
    if (precheckId === null) {
      this.setData({ error: new ApiError({ code: 'invalid_precheck', message: '请先完成预检 Complete the pre-check first.', field: 'precheckId' }).toData() });
      return null;
    }
    this.setData({ busy: true, error: null });
    try {
      const appointment = await api('/appointments', { method: 'POST', data: { slotId, precheckId } });
      this.show(appointment);
      return appointment;
    } catch (error) {
      this.setData({ error: errorData(error) });
      return null;
    } finally {
      this.setData({ busy: false });
    }
  },

  async load(appointmentId = this.data.appointment?.id) {
    this.setData({ busy: true, error: null });
    try {
      const appointment = await api(`/appointments/${encodeURIComponent(appointmentId)}`);
      this.show(appointment);
      return appointment;
    } catch (error) {
      this.setData({ error: errorData(error) });
      return null;
    } finally {
      this.setData({ busy: false });
    }
  },

  async cancel() {
    const id = this.data.appointment?.id;
    if (!id) return null;
    this.setData({ busy: true, error: null });
    try {
      const appointment = await api(`/appointments/${encodeURIComponent(id)}`, { method: 'DELETE' });
      this.show(appointment);
      wx.removeStorageSync(`pass.${id}`);
      return appointment;
    } catch (error) {
      this.setData({ error: errorData(error) });
      return null;
    } finally {
      this.setData({ busy: false });
    }
  },
});
