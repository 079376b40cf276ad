// The findings page: the newest findings matching the filters, and new ones pushed live (Server-Sent Events) as the
// console reads them from the alert feed.
import { api, findingRow, h, listKeys, renderTopBar } from './common.js';

const MAX_ROWS = 500;
const form = document.getElementById('filters');
const list = document.getElementById('findings-list');
const summary = document.getElementById('summary');
const status = document.getElementById('live-status');
/** Rows shown, by finding id. */
const rows = new Map();
let stream;
let generation = 0;
let total = 0;
let fresh = 0;
let defaultSince;

function filterParams() {
  const params = new URLSearchParams();
  for (const [key, value] of new FormData(form)) if (String(value).trim()) params.set(key, String(value).trim());
  // The server's default need not be spelled out (the address stays short).
  if (params.get('since') === defaultSince) params.delete('since');
  return params;
}

function setStatus(text, state) {
  status.textContent = text;
  status.dataset.state = state;
}

function showSummary() {
  const shown = rows.size;
  if (shown === 0) summary.textContent = 'No findings match. New ones appear here as they are indexed.';
  else summary.textContent = `${shown} shown${total > shown ? ` (${total} match in all)` : ''}${fresh ? `; ${fresh} arrived since the page opened` : ''}.`;
}

/** `live`: pushed since the page opened (on top, marked new); `recent`: pushed before (on top); else from the list. */
function add(finding, { live, recent }) {
  const existing = rows.get(finding.id);
  const row = findingRow(finding, { fresh: live });
  if (existing) {
    existing.replaceWith(row);
  } else if (live || recent) {
    list.prepend(row);
    if (live) fresh++;
  } else {
    list.append(row);
  }
  rows.set(finding.id, row);
  while (rows.size > MAX_ROWS) {
    const last = list.lastElementChild;
    rows.delete(last.dataset.findingId);
    last.remove();
  }
}

function connect(params) {
  stream?.close();
  setStatus('connecting…', 'connecting');
  stream = new EventSource(`/api/stream?${params}`);
  stream.onopen = () => setStatus('live', 'live');
  stream.onerror = () => setStatus(stream.readyState === EventSource.CLOSED ? 'disconnected: reload the page' : 'reconnecting…', 'down');
  stream.addEventListener('finding', (event) => {
    const finding = JSON.parse(event.data);
    if (!rows.has(finding.id)) {
      add(finding, { live: true });
      showSummary();
    }
  });
  stream.addEventListener('recent', (event) => {
    const finding = JSON.parse(event.data);
    if (!rows.has(finding.id)) {
      add(finding, { recent: true });
      showSummary();
    }
  });
}

async function load() {
  const params = filterParams();
  history.replaceState(null, '', params.toString() ? `/?${params}` : '/');
  const mine = ++generation;
  rows.clear();
  list.replaceChildren();
  fresh = 0;
  total = 0;
  summary.textContent = 'Loading…';
  // The stream first: a finding indexed while the list loads arrives on it (the server also replays the last minute).
  connect(params);
  try {
    const result = await api(`/api/findings?${params}`);
    if (mine !== generation) return;
    total = result.total;
    // Rows already pushed are replaced in place: the list's copy carries the verdict.
    for (const finding of result.findings) add(finding, {});
    showSummary();
  } catch (e) {
    if (mine === generation) summary.textContent = `Could not load findings: ${e.message}`;
  }
}

function fillSelect(select, options, selected) {
  select.replaceChildren(...options.map(([value, label]) => h('option', { value }, label)));
  if (options.some(([value]) => value === selected)) select.value = selected;
}

async function init() {
  const initial = new URLSearchParams(location.search);
  const config = await api('/api/config');
  defaultSince = config.defaultSince;
  renderTopBar(config);
  fillSelect(form.elements.severity, [['', 'any'], ...config.severities.map((s) => [s.label, `${s.label} or higher`])], initial.get('severity') ?? '');
  fillSelect(form.elements.since, config.since.map((s) => [s, s === 'all' ? 'any time' : `last ${s}`]), initial.get('since') ?? config.defaultSince);
  form.elements.entity.value = initial.get('entity') ?? '';
  const facets = await api('/api/facets').catch(() => ({ detectors: [], techniques: [] }));
  const technique = initial.get('technique') ?? '';
  const detector = initial.get('detector') ?? '';
  // A filter asked for in the URL stays selectable even when no finding has it yet.
  const techniques = facets.techniques.some((t) => t.id === technique) || !technique ? facets.techniques : [...facets.techniques, { id: technique, name: '' }];
  const detectors = facets.detectors.includes(detector) || !detector ? facets.detectors : [...facets.detectors, detector];
  fillSelect(form.elements.technique, [['', 'any'], ...techniques.map((t) => [t.id, t.name ? `${t.id} ${t.name}` : t.id])], technique);
  fillSelect(form.elements.detector, [['', 'any'], ...detectors.map((d) => [d, d])], detector);
  let typing;
  form.addEventListener('change', (event) => {
    if (event.target !== form.elements.entity) load();
  });
  form.elements.entity.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(load, 300);
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    load();
  });
  listKeys(list);
  document.addEventListener('keydown', (event) => {
    if (event.key === '/' && !(event.target instanceof HTMLInputElement || event.target instanceof HTMLTextAreaElement || event.target instanceof HTMLSelectElement)) {
      event.preventDefault();
      form.elements.entity.focus();
    }
  });
  await load();
}

init().catch((e) => {
  summary.textContent = `The console could not start: ${e.message}`;
});
