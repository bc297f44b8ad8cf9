// The fever pre-check: load the questionnaire, answer it (items with enableWhen appear only
// when their conditions hold), submit, and show the triage: level, reasons, advice and the
// recommended sites. GET /api/v1/precheck/questionnaire; POST /api/v1/prechecks → 201.

import { getApp } from '../../app.mjs';
import { api, errorData } from '../../lib/api.mjs';
import { Page } from '../../lib/page.mjs';
import { wx } from '../../lib/wx.mjs';

export const PRECHECK_KEY = 'journey.precheck';

const LEVEL_TEXT = {
  home_care: '居家观察 Home care',
  sentinel: '前往发热哨点 Go to a fever sentinel',
  fever_clinic: '前往发热门诊 Go to a fever clinic',
  emergency: '立即拨打 120 Call 120 now',
};

const isAnswered = (value) => value !== undefined && value !== null && value !== '' && !(Array.isArray(value) && value.length === 0);

function compare(actual, operator, expected) {
  switch (operator) {
    case '=':
      return actual === expected;
    case '!=':
      return actual !== expected;
    case '>':
      return actual > expected;
    case '<':
      return actual < expected;
    case '>=':
      return actual >= expected;
    case '<=':
      return actual <= expected;
    default:
      return false;
  }
}

/** Coerces an input value (text boxes give strings) to the item's type; undefined when empty or unusable. */
export function coerceAnswer(item, value) {
  if (!isAnswered(value)) return undefined;
  switch (item.type) {
    case 'decimal': {
      const number = typeof value === 'number' ? value : Number(String(value).trim());
      return Number.isFinite(number) ? number : value;
    }
    case 'integer': {
      const number = typeof value === 'number' ? value : Number(String(value).trim());
      return Number.isInteger(number) ? number : value;
    }
    case 'boolean':
      if (value === 'true') return true;
      if (value === 'false') return false;
      return value;
    case 'choice':
      if (item.repeats) {
        const list = (Array.isArray(value) ? value : [value]).map(String);
        return list.length ? list : undefined;
      }
      return Array.isArray(value) ? (value.length === 1 ? String(value[0]) : value) : String(value);
    case 'string': {
      const text = String(value).trim();
      return text === '' ? undefined : text;
    }
    default:
      return value;
  }
}

/**
 * Which items are enabled for `answers` (FHIR enableWhen: operators exists, =, !=, >, <, >=,
 * <=, plus the server's includes and nonEmpty; enableBehavior all (default) or any). An
 * answer to an item that is not enabled counts as absent for the items that depend on it.
 * Returns a Set of linkIds.
 */
export function enabledItems(questionnaire, answers) {
  const items = questionnaire?.items ?? [];
  const byId = new Map(items.map((item) => [item.linkId, item]));
  const enabled = new Set();
  const resolving = new Set();
  const isEnabled = (item) => {
    if (enabled.has(item.linkId)) return true;
    if (!item.enableWhen?.length) return true;
    if (resolving.has(item.linkId)) return false; // a cycle: never enabled
    resolving.add(item.linkId);
    const results = item.enableWhen.map((condition) => {
      const source = byId.get(condition.question);
      const value = source && isEnabled(source) ? coerceAnswer(source, answers[condition.question]) : undefined;
      if (condition.operator === 'exists') return (value !== undefined) === Boolean(condition.answer);
      if (value === undefined) return false;
      // The server's own operators for repeating choices: `includes` (the list has the code)
      // and `nonEmpty` (at least one code).
      if (condition.operator === 'includes') return Array.isArray(value) && value.includes(condition.answer);
      if (condition.operator === 'nonEmpty') return Array.isArray(value) && value.length > 0;
      if (Array.isArray(value)) return condition.operator === '!=' ? !value.includes(condition.answer) : value.includes(condition.answer);
      return compare(value, condition.operator, condition.answer);
    });
    resolving.delete(item.linkId);
    return item.enableBehavior === 'any' ? results.some(Boolean) : results.every(Boolean);
  };
  for (const item of items) if (isEnabled(item)) enabled.add(item.linkId);
  return enabled;
}

/** The answers to send: only enabled items, coerced, empty ones left out. */
export function buildAnswers(questionnaire, answers) {
  const enabled = enabledItems(questionnaire, answers);
  const out = {};
  for (const item of questionnaire?.items ?? []) {
    if (!enabled.has(item.linkId)) continue;
    const value = coerceAnswer(item, answers[item.linkId]);
    if (value !== undefined) out[item.linkId] = value;
  }
  return out;
}

/** Required enabled items without an answer (shown before submitting; the server decides). */
export function missingAnswers(questionnaire, answers) {
  const built = buildAnswers(questionnaire, answers);
  const enabled = enabledItems(questionnaire, answers);
  return (questionnaire?.items ?? []).filter((item) => item.required && enabled.has(item.linkId) && !(item.linkId in built)).map((item) => item.linkId);
}

export default Page({
  route: 'pages/precheck/index',
  data: {
    questionnaire: null,
    /** The questionnaire's items with `enabled` and the current `value`, for the form. */
    items: [],
    answers: {},
    missing: [],
    location: null,
    submitting: false,
    result: null,
    levelText: '',
    error: null,
  },

  async onLoad(query = {}) {
    const lat = Number(query.lat);
    const lng = Number(query.lng);
    if (query.lat !== undefined && query.lng !== undefined && Number.isFinite(lat) && Number.isFinite(lng)) {
      this.setData({ location: { lat, lng } });
    }
    await this.loadQuestionnaire();
  },

  async loadQuestionnaire() {
    try {
      const questionnaire = await api('/precheck/questionnaire', { auth: false });
      this.setData({ questionnaire, error: null });
      this.refreshItems();
    } catch (error) {
      this.setData({ error: errorData(error) });
    }
  },

  refreshItems() {
    const { questionnaire, answers } = this.data;
    const enabled = enabledItems(questionnaire, answers);
    this.setData({
      items: (questionnaire?.items ?? []).map((item) => ({ ...item, enabled: enabled.has(item.linkId), value: answers[item.linkId] ?? null })),
      missing: missingAnswers(questionnaire, answers),
    });
  },

  /** Sets one answer (null clears it). */
  setAnswer(linkId, value) {
    const answers = { ...this.data.answers };
    if (value === null || value === undefined) delete answers[linkId];
    else answers[linkId] = value;
    this.setData({ answers, result: null, error: null });
    this.refreshItems();
  },

  /** Sets several answers at once. */
  setAnswers(values) {
    this.setData({ answers: { ...this.data.answers, ...values }, result: null, error: null });
    this.refreshItems();
  },

  /** bindinput / bindchange of a form control with data-link-id. */
  onAnswer(e) {
    this.setAnswer(e.currentTarget.dataset.linkId, e.detail.value);
  },

  setLocation(lat, lng) {
    this.setData({ location: { lat, lng } });
  },

  /** The request body of POST /api/v1/prechecks. */
  body() {
    const { questionnaire, answers, location } = this.data;
    const body = { questionnaireVersion: questionnaire?.version, answers: buildAnswers(questionnaire, answers) };
    if (location) body.location = location;
    return body;
  },

  async submit() {
    if (!this.data.questionnaire) await this.loadQuestionnaire();
    if (!this.data.questionnaire) return null;
    this.setData({ submitting: true, error: null, result: null });
    try {
      const result = await api('/prechecks', { method: 'POST', data: this.body() });
      wx.setStorageSync(PRECHECK_KEY, { id: result.id, level: result.level, validUntil: result.validUntil, createdAt: result.createdAt });
      this.setData({ result, levelText: LEVEL_TEXT[result.level] ?? result.level });
      return result;
    } catch (error) {
      this.setData({ error: errorData(error) });
      return null;
    } finally {
      this.setData({ submitting: false });
    }
  },

  /** Where to go next: booking needs a pre-check that refers to a site. */
  canBook() {
    return ['fever_clinic', 'sentinel'].includes(this.data.result?.level) && getApp().signedIn;
  },
});
