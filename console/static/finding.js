// One finding: what drove it, the request with the suspicious part marked, its example traces as waterfalls from
// Jaeger, the raw ECS document, related findings and the analyst's verdict.
import { api, ApiError, append, findingRow, formatDuration, formatNumber, formatTime, h, listKeys, renderTopBar, verdictLabel } from './common.js';

const id = decodeURIComponent(location.pathname.split('/').pop());
const MAX_TRACES = 3;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Retries a 404 a few times: a finding or trace just written may take a second to become searchable. */
async function patiently(path, tries) {
  for (let i = 1; ; i++) {
    try {
      return await api(path);
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 404 || i >= tries) throw e;
      await sleep(1000);
    }
  }
}

function field(label, ...value) {
  if (value.every((v) => v === undefined || v === null || v === '')) return null;
  return [h('dt', {}, label), h('dd', {}, ...value)];
}

function renderHead(d) {
  const s = d.summary;
  const c = d.context;
  const head = document.getElementById('head');
  const links = h('p', { class: 'outlinks' },
    ...d.exemplars.filter((e) => e.jaegerUrl).slice(0, 1).map((e) => h('a', { href: e.jaegerUrl, rel: 'noopener' }, 'Open the trace in Jaeger')),
    d.links.kibana ? h('a', { href: d.links.kibana, rel: 'noopener' }, 'Open in Kibana') : null);
  head.replaceChildren(
    h('div', { class: `head-score sev-${s.severityLabel}` }, h('span', { class: 'score-value' }, String(Math.round(s.score))), h('span', { class: 'sev-label' }, s.severityLabel)),
    h('div', { class: 'head-main' },
      h('h1', {}, s.rule || s.detector),
      h('p', { class: 'message' }, s.message),
      h('dl', { class: 'facts' },
        field('Entity', h('span', { class: 'entity' }, s.entity)),
        field('Service', s.service),
        field('Operation', c.operation),
        field('Technique', s.technique ? `${s.technique.id} ${s.technique.name}` : undefined),
        field('Tactic', c.tactic),
        field('Detector', s.detector),
        field('Model', c.model ? `${c.model.name} v${c.model.version}` : undefined),
        field('Window', c.start ? `${formatTime(c.start)} – ${formatTime(c.end)}` : formatTime(s.timestamp)),
        field('Path', c.urlPath),
        field('Source', c.sourceIp),
        field('Finding id', h('code', {}, s.id))),
      c.ruleDescription ? h('p', { class: 'rule-description' }, c.ruleDescription) : null,
      links));
  head.hidden = false;
  document.title = `${s.rule || s.detector} · ${s.entity} · Peregrine console`;
}

function renderExplanation(d) {
  const section = document.getElementById('explanation');
  if (d.explanation.length === 0) {
    section.append(h('p', { class: 'muted' }, 'The detector gave no breakdown for this finding.'));
    return;
  }
  const rows = d.explanation.map((e) => {
    const bar = h('span', { class: 'share-bar' });
    bar.style.setProperty('--share', String(Math.max(0, Math.min(1, e.share))));
    return h('tr', {},
      h('th', { scope: 'row' }, h('code', {}, e.feature)),
      h('td', { class: 'num' }, formatNumber(e.actual)),
      h('td', { class: 'num' }, formatNumber(e.typical)),
      h('td', {}, h('span', { class: 'share' }, bar, h('span', {}, `${Math.round(e.share * 100)}%`))));
  });
  section.append(h('div', { class: 'table-scroll' }, h('table', { class: 'explanation' },
    h('caption', {}, 'What drove the score: each feature\'s actual value, its typical value, and its share of the score'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Feature'), h('th', { scope: 'col', class: 'num' }, 'Actual'), h('th', { scope: 'col', class: 'num' }, 'Typical'), h('th', { scope: 'col' }, 'Share'))),
    h('tbody', {}, rows))));
}

function segments(list) {
  return list.map((s) => (s.mark
    ? h('mark', { title: `drove the score (${s.mark})${s.decoded !== undefined ? `; decoded: ${s.decoded}` : ''}`, 'data-component': s.mark }, s.text)
    : s.text));
}

function renderRequest(d) {
  if (!d.request) return;
  const r = d.request;
  const section = document.getElementById('request');
  append(section, [
    h('p', { class: 'muted' }, 'Marked: the parts of the request the detector found unlike the route\'s normal traffic.'),
    h('pre', { class: 'request-line' }, segments([r.method]), ' ', segments(r.target)),
    r.headers.length ? h('pre', { class: 'request-headers' }, r.headers.map((hd) => [segments([hd.name]), ': ', segments(hd.value), '\n'])) : null,
    r.body.length ? h('pre', { class: 'request-body' }, segments(r.body), r.bodyTruncated ? `\n… ${r.bodyTruncated} more characters` : '') : null]);
  section.hidden = false;
}

function renderWaterfall(container, w, exemplar) {
  const ruler = h('div', { class: 'wf-ruler', 'aria-hidden': 'true' },
    ...[0, 0.25, 0.5, 0.75, 1].map((x) => {
      const tick = h('span', { class: 'tick' }, formatDuration(w.durationUs * x));
      tick.style.setProperty('--at', String(x));
      return tick;
    }));
  const rows = w.spans.map((s) => {
    const bar = h('span', { class: 'bar' });
    const total = Math.max(1, w.durationUs);
    bar.style.setProperty('--offset', String(s.offsetUs / total));
    bar.style.setProperty('--width', String(Math.max(s.durationUs / total, 0.002)));
    const label = h('div', { class: 'span-label' },
      h('span', { class: 'svc' }, s.service), ' ', h('span', { class: 'op' }, s.name),
      s.error ? h('span', { class: 'badge badge-error' }, 'error') : null,
      s.spanId === exemplar.spanId ? h('span', { class: 'badge badge-exemplar' }, 'this finding') : null);
    const attrs = h('dl', { class: 'attrs' }, s.attributes.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
    const events = s.events.length
      ? h('ul', { class: 'events' }, s.events.map((e) => h('li', {}, `${formatDuration(e.offsetUs)}: ${e.name}`, e.attributes.length ? h('dl', { class: 'attrs' }, e.attributes.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])) : null)))
      : null;
    const row = h('li', {
      class: `span${s.error ? ' span-error' : ''}`, 'data-span-id': s.spanId, 'data-status': s.error ? 'error' : 'ok',
      'aria-label': `${s.service} ${s.name}, ${formatDuration(s.durationUs)}${s.error ? ', failed' : ''}`,
    },
    label,
    h('div', { class: 'span-timeline' }, bar),
    h('div', { class: 'span-duration' }, formatDuration(s.durationUs)),
    h('details', { class: 'span-details' },
      h('summary', {}, `${s.kind ? `${s.kind} · ` : ''}${s.attributes.length} attributes${s.events.length ? `, ${s.events.length} events` : ''}`),
      s.statusMessage ? h('p', { class: 'status-message' }, `Status: ${s.statusMessage}`) : null,
      attrs, events));
    row.style.setProperty('--depth', String(Math.min(s.depth, 12)));
    return row;
  });
  container.replaceChildren(
    h('p', { class: 'muted' }, `${w.spans.length} spans across ${w.services.length} services, ${formatDuration(w.durationUs)}, ${w.errors} failed${w.truncated ? `; ${w.truncated} more spans not shown` : ''}.`),
    ruler,
    h('ol', { class: 'waterfall', 'data-trace-id': w.traceId, 'aria-label': `Spans of trace ${w.traceId}` }, rows));
}

async function renderTraces(d) {
  const section = document.getElementById('traces');
  if (d.exemplars.length === 0) {
    section.append(h('p', { class: 'muted' }, 'This finding names no example trace.'));
    return;
  }
  await Promise.all(d.exemplars.slice(0, MAX_TRACES).map(async (e) => {
    const body = h('div', { class: 'trace-body' }, h('p', { class: 'muted' }, 'Loading the trace from Jaeger…'));
    section.append(h('article', { class: 'trace' },
      h('h3', {}, 'Trace ', h('code', {}, e.traceId), e.reason ? ` · ${e.reason.replaceAll('_', ' ')}` : '',
        e.jaegerUrl ? [' ', h('a', { href: e.jaegerUrl, rel: 'noopener' }, 'in Jaeger')] : null),
      body));
    try {
      renderWaterfall(body, await patiently(`/api/traces/${encodeURIComponent(e.traceId)}`, 5), e);
    } catch (error) {
      body.replaceChildren(h('p', { class: 'muted' }, `No waterfall: ${error.message}`));
    }
  }));
}

function renderVerdict(feedback) {
  const current = document.getElementById('current-verdict');
  if (!feedback) return;
  current.replaceChildren();
  append(current, ['Verdict: ', h('strong', { class: `verdict verdict-${feedback.verdict}` }, verdictLabel(feedback.verdict)),
    feedback.analyst ? ` by ${feedback.analyst}` : '', feedback.atMs ? `, ${formatTime(new Date(feedback.atMs).toISOString())}` : '',
    feedback.note ? h('span', { class: 'note' }, feedback.note) : null]);
  for (const button of document.querySelectorAll('.verdict-buttons button')) button.setAttribute('aria-pressed', String(button.value === feedback.verdict));
}

function wireVerdict(d) {
  const form = document.getElementById('verdict-form');
  const status = document.getElementById('verdict-status');
  const remembered = localStorage.getItem('peregrine.analyst');
  if (remembered) form.elements.analyst.value = remembered;
  if (d.feedback?.note) form.elements.note.value = d.feedback.note;
  renderVerdict(d.feedback);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const verdict = event.submitter?.value;
    if (!verdict) return;
    const analyst = form.elements.analyst.value.trim();
    if (analyst) localStorage.setItem('peregrine.analyst', analyst);
    status.textContent = 'Saving…';
    for (const b of form.querySelectorAll('button')) b.disabled = true;
    try {
      const saved = await api(`/api/findings/${encodeURIComponent(id)}/verdict`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ verdict, note: form.elements.note.value, analyst: analyst || undefined }),
      });
      renderVerdict(saved.feedback);
      status.textContent = `Saved: ${verdictLabel(saved.feedback.verdict)}.`;
    } catch (e) {
      status.textContent = `Not saved: ${e.message}`;
    } finally {
      for (const b of form.querySelectorAll('button')) b.disabled = false;
      event.submitter?.focus();
    }
  });
}

function renderRelated(d) {
  const list = document.getElementById('related-list');
  if (d.related.length === 0) list.replaceWith(h('p', { class: 'muted' }, 'None.'));
  else {
    list.append(...d.related.map((f) => findingRow(f)));
    listKeys(list);
  }
}

async function init() {
  const status = document.getElementById('status');
  const main = document.getElementById('detail');
  api('/api/config').then(renderTopBar).catch(() => undefined);
  let d;
  try {
    d = await patiently(`/api/findings/${encodeURIComponent(id)}`, 5);
  } catch (e) {
    status.textContent = e.status === 404 ? `No finding with id ${id}.` : `Could not load the finding: ${e.message}`;
    main.setAttribute('aria-busy', 'false');
    return;
  }
  status.hidden = true;
  renderHead(d);
  renderExplanation(d);
  renderRequest(d);
  document.getElementById('raw-json').textContent = JSON.stringify(d.document, null, 2);
  wireVerdict(d);
  renderRelated(d);
  document.getElementById('columns').hidden = false;
  main.setAttribute('aria-busy', 'false');
  await renderTraces(d);
}

init();
