// Sites near the patient and one site's slots for a day.
// GET /api/v1/sites?service=fever|sentinel|all&lat=&lng=&district=&limit= → {sites};
// GET /api/v1/sites/{id}/slots?date=YYYY-MM-DD → {siteId, date, slots}.

import { api, errorData } from '../../lib/api.mjs';
import { nowSeconds, shanghaiDate } from '../../lib/dates.mjs';
import { Page } from '../../lib/page.mjs';

/** The slot whose window contains unix seconds `at` (and that can be booked), or null. */
export function slotAt(slots, at = nowSeconds()) {
  return slots.find((slot) => slot.startsAt <= at && at < slot.endsAt && slot.bookable) ?? null;
}

export default Page({
  route: 'pages/sites/index',
  data: {
    service: 'fever',
    location: null,
    sites: [],
    site: null,
    date: '',
    slots: [],
    loading: false,
    error: null,
  },

  async onLoad(query = {}) {
    if (query.service) this.setData({ service: query.service });
    const lat = Number(query.lat);
    const lng = Number(query.lng);
    if (query.lat !== undefined && Number.isFinite(lat) && Number.isFinite(lng)) this.setData({ location: { lat, lng } });
    if (query.siteId) await this.selectSite(Number(query.siteId), query.date);
    else if (query.load !== 'false' && query.lat !== undefined) await this.loadSites();
  },

  /** Lists sites: nearest first when a location is known. */
  async loadSites({ lat, lng, service, district, limit = 20 } = {}) {
    if (lat !== undefined && lng !== undefined) this.setData({ location: { lat, lng } });
    if (service) this.setData({ service });
    const query = { service: this.data.service, limit };
    if (this.data.location) Object.assign(query, { lat: this.data.location.lat, lng: this.data.location.lng });
    if (district) query.district = district;
    this.setData({ loading: true, error: null });
    try {
      const { sites } = await api('/sites', { data: query, auth: false });
      this.setData({ sites });
      return sites;
    } catch (error) {
      this.setData({ error: errorData(error) });
      return null;
    } finally {
      this.setData({ loading: false });
    }
  },

  /** Shows one site's slots for `date` (Shanghai `YYYY-MM-DD`, default today). */
  async selectSite(siteId, date = shanghaiDate()) {
    const site = this.data.sites.find((candidate) => candidate.id === siteId) ?? { id: siteId };
    this.setData({ site, date, slots: [], loading: true, error: null });
    try {
      const answer = await api(`/sites/${encodeURIComponent(siteId)}/slots`, { data: { date }, auth: false });
      this.setData({ slots: answer.slots ?? [], date: answer.date ?? date });
      return answer.slots ?? [];
    } catch (error) {
      this.setData({ error: errorData(error) });
      return null;
    } finally {
      this.setData({ loading: false });
    }
  },

  /** The bookable slot of the shown day whose window contains `at` (default now). */
  currentSlot(at = nowSeconds()) {
    return slotAt(this.data.slots, at);
  },

  onSiteTap(e) {
    return this.selectSite(Number(e.currentTarget.dataset.id));
  },
});
