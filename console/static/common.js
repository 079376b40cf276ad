// Shared by the console's pages. Everything a finding carries is attacker-influenced: it reaches the page only as
// text nodes and attribute values set through the DOM, never as markup.

/** Builds an element: attributes (`class`, `data-*`, aria, href...) and children (strings become text nodes). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'href') {
      const safe = safeHref(value);
      if (safe) el.setAttribute('href', safe);
    } else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Only links to this server or to http(s) addresses: a `javascript:` URL in a finding stays inert text. */
export function safeHref(url) {
  if (typeof url !== 'string') return undefined;
  if (url.startsWith('/') && !url.startsWith('//')) return url;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** JSON from the console's API; a lost session shows the login form again. */
export async function api(path, options = {}) {
  const response = await fetch(path, { credentials: 'same-origin', ...options, headers: { accept: 'application/json', ...(options.headers ?? {}) } });
  if (response.status === 401) {
    location.reload();
    throw new ApiError(401, 'session ended');
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, body.error ?? `${response.status} ${response.statusText}`);
  return body;
}

export function formatTime(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso ?? '') : d.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });
}

export function formatDuration(us) {
  if (us >= 1_000_000) return `${(us / 1_000_000).toFixed(2)} s`;
  if (us >= 1000) return `${(us / 1000).toFixed(us >= 100_000 ? 0 : 1)} ms`;
  return `${Math.round(us)} µs`;
}

export function formatNumber(x) {
  if (typeof x !== 'number' || !Number.isFinite(x)) return String(x ?? '');
  return Math.abs(x) >= 1000 || Number.isInteger(x) ? x.toLocaleString(undefined, { maximumFractionDigits: 0 }) : x.toPrecision(3);
}

const VERDICT_LABELS = { true_positive: 'true positive', false_positive: 'false positive', benign: 'benign' };
export function verdictLabel(verdict) {
  return VERDICT_LABELS[verdict] ?? verdict;
}

/** One finding as a row of a list: score, severity, entity, technique, one-line explanation; the row is one link. */
export function findingRow(f, options = {}) {
  const technique = f.technique ? `${f.technique.id}${f.technique.name ? ` ${f.technique.name}` : ''}` : 'no technique';
  return h('li', { class: `finding sev-${f.severityLabel}${options.fresh ? ' fresh' : ''}`, 'data-finding-id': f.id },
    h('a', { class: 'finding-link', href: `/findings/${encodeURIComponent(f.id)}` },
      h('span', { class: 'score', title: 'risk score' }, h('span', { class: 'score-value' }, String(Math.round(f.score))), h('span', { class: 'sev-label' }, f.severityLabel)),
      h('span', { class: 'finding-main' },
        h('span', { class: 'finding-title' }, h('span', { class: 'rule' }, f.rule || f.detector), ' ', h('span', { class: 'entity' }, f.entity)),
        h('span', { class: 'message' }, f.message)),
      h('span', { class: 'finding-meta' },
        h('span', { class: `technique${f.technique ? '' : ' none'}` }, technique),
        h('span', { class: 'detector' }, f.detector),
        h('time', { datetime: f.timestamp }, formatTime(f.timestamp)),
        f.verdict ? h('span', { class: `verdict verdict-${f.verdict}` }, verdictLabel(f.verdict)) : null)));
}

/** Up/Down (or j/k) move between the rows' links of a list; Home/End go to the ends. */
export function listKeys(list) {
  list.addEventListener('keydown', (event) => {
    const links = [...list.querySelectorAll('a.finding-link')];
    const at = links.indexOf(document.activeElement);
    if (at < 0) return;
    const moves = { ArrowDown: at + 1, j: at + 1, ArrowUp: at - 1, k: at - 1, Home: 0, End: links.length - 1 };
    if (!(event.key in moves)) return;
    const target = links[Math.max(0, Math.min(links.length - 1, moves[event.key]))];
    if (target) {
      event.preventDefault();
      target.focus();
    }
  });
}

/** The header's sign-out button and links out, from /api/config. */
export function renderTopBar(config) {
  const nav = document.getElementById('links');
  if (nav && config.kibanaUrl) nav.append(h('a', { href: config.kibanaUrl, rel: 'noopener' }, 'Kibana'));
  if (nav && config.jaegerUiUrl) nav.append(h('a', { href: config.jaegerUiUrl, rel: 'noopener' }, 'Jaeger'));
  const logout = document.getElementById('logout');
  if (logout && config.auth) logout.hidden = false;
}
