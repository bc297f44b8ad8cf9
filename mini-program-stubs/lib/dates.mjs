// Shanghai calendar dates (UTC+8, no daylight saving): the server's `YYYY-MM-DD` days.

const SHANGHAI_OFFSET_SECONDS = 8 * 3600;

/** Unix seconds now. */
export const nowSeconds = () => Math.floor(Date.now() / 1000);

/** The Shanghai date `YYYY-MM-DD` of unix seconds `at` (default: now). */
export function shanghaiDate(at = nowSeconds()) {
  return new Date((at + SHANGHAI_OFFSET_SECONDS) * 1000).toISOString().slice(0, 10);
}

/** `HH:MM` Shanghai time of unix seconds `at`. */
export function shanghaiTime(at) {
  return new Date((at + SHANGHAI_OFFSET_SECONDS) * 1000).toISOString().slice(11, 16);
}
