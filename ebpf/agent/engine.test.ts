/**
 * Differential tests: the loader's C engine (ebpf/loader/, run without BPF by
 * peregrine-sensor-replay) against the TypeScript reference (reference.ts: connections.ts,
 * records.ts, otlp.ts, redact.ts). The same record streams must give the same spans, Pixie rows
 * and counters after decoding; the same texts the same redaction. Needs a C compiler and make
 * (`make -C ebpf replay`); skipped, loudly, without them.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../core/random.ts';
import { isSensitiveField, isSensitiveHeader, redactBody, redactFormEncoded, redactTarget, redactUrl, scrubText } from '../../core/redaction/redact.ts';
import { compareEngines } from '../testing/compare.ts';
import { CONVERSATIONS, mutate, render } from '../testing/corpus.ts';
import { buildReplay, nativeRedact, RedactOp, type RedactCall } from '../testing/native.ts';
import { RecordWriter } from '../testing/records.ts';

const unbuilt = buildReplay();
if (unbuilt) process.stderr.write(`\n\n*** SKIPPED: C engine differential tests: ${unbuilt} ***\n\n\n`);
const describeNative = unbuilt ? describe.skip : describe;

const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig_-abc';
// Pieces of texts: secrets, their look-alikes, separators, Unicode (whitespace, astral, İ and K).
const PIECES = ['eyJhbGciOiJIUzI1NiJ9', JWT, 'Bearer ', 'bearer\t', 'BEARER ', 'Basic ', 'Token ', 'token=', 'Negotiate ', 'Digest ',
  'AKIAIOSFODNN7EXAMPLE', 'ASIA', 'A3TX', 'AIzaSyA-1234567890abcdefghijklmnopqrstu', 'ghp_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789', 'github_pat_',
  'xoxb-1234567890-abcdefghijkl', 'sk_live_51HxYzAbCdEfGhIjKlMnOpQr', 'sk-proj-abcdefghijklmnopqrstuvwxyz012345', 'sk-ant-', 'sk-', 'AccountKey=',
  'SharedAccessKey=', 'sig=', 'abcdefghijklmnopqrstuvwxyz0123456789', 'postgres://admin:hunter2@db:5432/x', 'http://', 'https://u:p', '@', ':', '/',
  '-----BEGIN RSA PRIVATE KEY-----', '\nMIIE\n', '-----END RSA PRIVATE KEY-----', 'PRIVATE KEY', '4111 1111 1111 1111', '4111111111111111',
  '5500-0000-0000-0004', '4012888888881881', '1234567890123', '123', '0', '9', ' ', '-', '  ', '_', '.', '~', '+', '=', '%', '%2F', '%zz', '%E2%82%AC',
  '%C0%80', '&', '?', '#', 'password=', 'passwd', 'user=', 'api_key', 'apiKey', 'secret', 'note', 'q=', 'x', 'é', '😀', '\u00a0', '\u2028', '\ufeff',
  '\t', '\n', '\r', '"', "'", '\\', '{', '}', '[', ']', ',', ';', '"password":"hunter2"', '{"a":1}', '"token": ', 'İ', 'K', 'card', 'ccnumber', 'pin'];
const CONTENT_TYPES = [undefined, '', 'application/json', 'text/plain', 'application/x-www-form-urlencoded', 'APPLICATION/JSON; charset=utf-8'];

describeNative('the C engine against the TypeScript reference', () => {
  beforeAll(() => {
    expect(unbuilt).toBeUndefined();
  });

  it('redacts every text as redact.ts does (secret shapes, fields, forms, targets, URLs, bodies)', () => {
    const random = mulberry32(20261206);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
    const text = (): string => Array.from({ length: Math.floor(random() * (random() < 0.2 ? 60 : 12)) }, () => pick(PIECES)).join('');
    const calls: RedactCall[] = [];
    const expected: string[] = [];
    for (let i = 0; i < 12_000; i++) {
      const t = text();
      switch (i % 8) {
        case 0: calls.push({ op: RedactOp.scrub, text: t }); expected.push(scrubText(t)); break;
        case 1: calls.push({ op: RedactOp.scrubTruncated, text: t }); expected.push(scrubText(t, true)); break;
        case 2: calls.push({ op: RedactOp.target, text: t }); expected.push(redactTarget(t)); break;
        case 3: calls.push({ op: RedactOp.form, text: t }); expected.push(redactFormEncoded(t)); break;
        case 4: calls.push({ op: RedactOp.url, text: t }); expected.push(redactUrl(t)); break;
        case 5: {
          const body = random() < 0.4 ? JSON.stringify({ [pick(['a', 'password', 'note', '0', '12', 'token'])]: t, n: pick([1, 4111111111111111, -0, 1.5, 1e21]), arr: [t, null, true] }) : t;
          const contentType = pick(CONTENT_TYPES);
          const truncated = random() < 0.3;
          calls.push({ op: RedactOp.body, text: body, contentType, truncated });
          expected.push(redactBody(body, contentType, undefined, truncated));
          break;
        }
        case 6: calls.push({ op: RedactOp.field, text: t }); expected.push(isSensitiveField(t) ? '1' : '0'); break;
        default: {
          const name = t.replace(/[^A-Za-z0-9!#$%&'*+.^_`|~-]/g, '') || 'x';
          calls.push({ op: RedactOp.header, text: name });
          expected.push(isSensitiveHeader(name) ? '1' : /^(referer|location)$/i.test(name) ? '2' : '0');
        }
      }
    }
    const got = nativeRedact(calls);
    const differences = calls.map((c, i) => ({ ...c, reference: expected[i], engine: got[i] })).filter((d) => d.reference !== d.engine);
    expect(differences.slice(0, 3)).toEqual([]);
    // the texts did carry secrets: a good share came back changed
    expect(calls.filter((c, i) => c.op < RedactOp.field && expected[i] !== c.text).length).toBeGreaterThan(3000);
  });

  it('honours extra header and field names as the reference does', () => {
    const config = { headers: ['X-Tenant-Key'], fields: ['tenant_pin'] };
    const calls: RedactCall[] = [{ op: RedactOp.header, text: 'x-tenant-KEY' }, { op: RedactOp.field, text: 'Tenant-Pin' }, { op: RedactOp.form, text: 'tenant.pin=1&a=2' }];
    expect(nativeRedact(calls, ['--redact-header', 'x-tenant-key', '--redact-field', 'tenantpin']))
      .toEqual([isSensitiveHeader('x-tenant-KEY', config) ? '1' : '0', isSensitiveField('Tenant-Pin', config) ? '1' : '0', redactFormEncoded('tenant.pin=1&a=2', config)]);
  });

  it.each(CONVERSATIONS.map((c) => [c.name, c] as const))('agrees on spans, rows and counters: %s', (_, conversation) => {
    const w = new RecordWriter();
    w.hello();
    render(w, [conversation], { statsEvery: 3 });
    expect(compareEngines(w.bytes())).toEqual([]);
  });

  it('agrees on the whole corpus at once, with short excerpts and extra redaction names', () => {
    for (const bodyBytes of [40, 300]) {
      const w = new RecordWriter();
      w.hello();
      render(w, CONVERSATIONS, { statsEvery: 7 });
      expect(compareEngines(w.bytes(), { bodyBytes, redaction: { headers: ['X-Name'], fields: ['note'] } })).toEqual([]);
    }
  });

  it('agrees on thousands of mutated conversations (split, edited, gapped, dropped chunks; unknown roles; evictions and expiry)', () => {
    const random = mulberry32(7);
    const settings = [
      {}, { bodyBytes: 50 }, { idleTimeoutMs: 3 }, { maxConnections: 2 }, { bodyBytes: 100, idleTimeoutMs: 5, maxConnections: 3 },
    ];
    let conversations = 0;
    for (const options of settings) {
      const w = new RecordWriter();
      w.hello();
      let ts = 2_600_000_000_000;
      for (let group = 0; group < 120; group++) {
        const variants = Array.from({ length: 1 + Math.floor(random() * 4) }, () => mutate(CONVERSATIONS[Math.floor(random() * CONVERSATIONS.length)], random));
        conversations += variants.length;
        ts = render(w, variants, { statsEvery: 5, startNs: ts }) + 1_000_000;
      }
      expect(compareEngines(w.bytes(), options), JSON.stringify(options)).toEqual([]);
    }
    expect(conversations).toBeGreaterThan(1000);
  });
});
