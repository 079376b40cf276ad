/**
 * No secrets leave in a finding: before a finding is encoded for Elasticsearch, the Kafka alert feed or a webhook, the
 * requests it carries are masked with the redaction rules the sensor applies at the source (core/redaction): password
 * and other sensitive fields in query strings, forms and JSON bodies, Authorization / Cookie / API-key headers, bearer
 * tokens, JWTs, API keys by shape, Luhn-valid card numbers. Free text (the message, fragments) is scrubbed of secret
 * shapes and of sensitive `name=value` pairs. Detectors judged the raw request in memory before this; a signature fragment (the attack text) is kept with
 * its offsets in the raw value even when it sits in a password field — the rest of that field is masked. Pure.
 */
import { DEFAULT_REDACTION, redactBody, redactHeaders, redactTarget, scrubText, type RedactionConfig } from '../core/redaction/redact.ts';
import type { Finding, RequestExample, RequestRecord, SignatureEvidence } from './finding.ts';

export function maskRequest(r: RequestRecord, config: RedactionConfig = DEFAULT_REDACTION): RequestRecord {
  const headerPairs = Object.entries(r.headers);
  const contentType = headerPairs.find(([name]) => name.toLowerCase() === 'content-type')?.[1];
  return {
    method: r.method,
    target: redactTarget(r.target, config),
    headers: Object.fromEntries(redactHeaders(headerPairs, config)),
    body: redactBody(r.body, contentType, config),
    ...(r.bodySize !== undefined ? { bodySize: r.bodySize } : {}),
  };
}

/** Free text: secret shapes, and `name=value` / `name: value` pairs whose name is sensitive (a URL in a message). */
function maskText(text: string, config: RedactionConfig): string {
  return redactBody(text, 'text/plain', config);
}

function maskEvidence(e: SignatureEvidence, config: RedactionConfig): SignatureEvidence {
  return { ...e, fragment: maskText(e.fragment, config), decoded: maskText(e.decoded, config) };
}

function maskExample(e: RequestExample, config: RedactionConfig): RequestExample {
  return { ...e, request: maskRequest(e.request, config), signatures: e.signatures.map((s) => maskEvidence(s, config)) };
}

/** The finding as it may be stored and sent. */
export function maskFinding(f: Finding, config: RedactionConfig = DEFAULT_REDACTION): Finding {
  return {
    ...f,
    message: maskText(f.message, config),
    ...(f.urlPath !== undefined ? { urlPath: redactTarget(f.urlPath, config) } : {}),
    ...(f.userAgent !== undefined ? { userAgent: scrubText(f.userAgent) } : {}),
    ...(f.request ? { request: maskRequest(f.request, config) } : {}),
    ...(f.examples ? { examples: f.examples.map((e) => maskExample(e, config)) } : {}),
  };
}
