// The agent's HTTP API: settings (datacenter, ACL token), one-off requests and blocking-query loops.

import { agentReachable, agentUnreachable } from './notify.js';

const TOKEN_KEY = 'proconsul.token';
const DC_KEY = 'proconsul.dc';
export const WAIT = '5m';
const BACKOFF_FIRST_MS = 1000;
const BACKOFF_MAX_MS = 30000;

function stored(key) {
  try {
    return localStorage.getItem(key) || '';
  } catch {
    return '';
  }
}

function store(key, value) {
  try {
    if (value) localStorage.setItem(key, value);
    else localStorage.removeItem(key);
  } catch {
    /* private mode: keep it for this page only */
  }
}

/** What every request carries: ?dc= and the X-Consul-Token header. */
export const settings = {
  dc: stored(DC_KEY),
  token: stored(TOKEN_KEY),
  setDc(dc) {
    this.dc = dc;
    store(DC_KEY, dc);
  },
  setToken(token) {
    this.token = token;
    store(TOKEN_KEY, token);
  },
};

/** The agent answered with an error status; `message` is ready to show. */
export class HttpError extends Error {
  constructor(status, body) {
    super(describe(status, body));
    this.status = status;
    this.body = body;
  }
}

/** The agent could not be reached (connection refused, reset, DNS, ...). */
export class NetworkError extends Error {}

function describe(status, body) {
  const text = (body || '').trim();
  if (status === 403) {
    if (/^permission denied/i.test(text)) return text;
    return `Permission denied: ${text || 'the ACL token does not allow this request'}`;
  }
  return text ? `${text} (HTTP ${status})` : `The agent answered HTTP ${status}`;
}

/** A path with each segment percent-encoded ("/" kept): KV keys and names in URLs. */
export function encodePath(path) {
  return path.split('/').map(encodeURIComponent).join('/');
}

export function apiUrl(path, params = {}, withDc = true) {
  const query = new URLSearchParams();
  if (withDc && settings.dc) query.set('dc', settings.dc);
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === false) continue;
    query.set(name, value === true ? '' : String(value));
  }
  const qs = query.toString();
  return qs ? `${path}?${qs}` : path;
}

/**
 * One request. Resolves to {status, data (parsed JSON or null), index (X-Consul-Index or 0)}.
 * Statuses in `accept` (besides 2xx) resolve too; others reject with HttpError, an unreachable
 * agent with NetworkError, an abort with the AbortError. `anyDc` leaves ?dc= out.
 */
export async function request(path, { method = 'GET', params, body, signal, accept = [], anyDc = false } = {}) {
  const headers = {};
  if (settings.token) headers['X-Consul-Token'] = settings.token;
  let res;
  let text;
  try {
    res = await fetch(apiUrl(path, params, !anyDc), { method, headers, body, signal, cache: 'no-store' });
    text = await res.text();
  } catch (err) {
    if (signal && signal.aborted) throw err;
    agentUnreachable(err && err.message);
    throw new NetworkError(`Agent unreachable: ${err && err.message ? err.message : err}`);
  }
  agentReachable();
  if (!res.ok && !accept.includes(res.status)) throw new HttpError(res.status, text);
  let data = null;
  if (text && (res.headers.get('Content-Type') || '').includes('json')) data = JSON.parse(text);
  return { status: res.status, data, index: Number(res.headers.get('X-Consul-Index')) || 0 };
}

export function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      if (signal) signal.removeEventListener('abort', done);
      resolve();
    }
    if (signal) signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Follow `path` with blocking queries until `signal` aborts: the first request returns at once,
 * each next one waits (?index=N&wait=5m) until the data changes. `onData(data, response)` runs for
 * every new index; a response with the same index (the wait ran out) is skipped. On an error the
 * loop backs off 1 s, 2 s, 4 s ... 30 s; `onError(err)` hears HTTP errors (and `null` once the data
 * flows again), an unreachable agent shows the global banner.
 */
export function watch(path, params, onData, { signal, onError, accept } = {}) {
  let index = 0;
  let failures = 0;
  let failed = false;
  (async () => {
    while (!signal.aborted) {
      try {
        const blocking = index > 0 ? { index, wait: WAIT } : {};
        const res = await request(path, { params: { ...params, ...blocking }, signal, accept });
        if (signal.aborted) return;
        failures = 0;
        // An index that went backwards (restore, reset) starts over; no index at all means the
        // endpoint cannot block, so poll it slowly rather than spin.
        const changed = index === 0 || res.index !== index;
        index = res.index > 0 ? res.index : 0;
        if (changed) {
          if (failed && onError) onError(null);
          failed = false;
          onData(res.data, res);
        }
        if (index === 0) await sleep(BACKOFF_MAX_MS, signal);
      } catch (err) {
        if (signal.aborted) return;
        failures += 1;
        if (err instanceof HttpError) {
          failed = true;
          if (onError) onError(err);
        } else if (!(err instanceof NetworkError)) {
          console.error('proconsul UI: watching', path, err); // a bug in a view, not the agent
        }
        if (err instanceof NetworkError) index = 0; // the agent may have restarted: fetch afresh
        await sleep(Math.min(BACKOFF_FIRST_MS * 2 ** (failures - 1), BACKOFF_MAX_MS), signal);
      }
    }
  })();
}
