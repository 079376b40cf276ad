import { describe, expect, it } from 'vitest';
import { maskedRow, modelView } from './view.ts';

describe('the model\'s view of a request', () => {
  const row = {
    id: 'r1', req_method: 'POST', req_path: '/api/users/4711/orders?page=2&access_token=abc.def.ghi',
    req_headers: { 'Content-Type': 'application/json', Authorization: 'Bearer 7f3c9a1e5b2d8f4a6c0e', 'User-Agent': 'Mozilla/5.0' },
    req_body: '{"email":"ana@example.com","password":"Wombat-Staple-4417","card":"4539 5787 6362 1486"}',
  };

  it('templates the route and masks credentials in the query, headers and body', () => {
    const masked = maskedRow(row);
    expect(masked.req_path).toBe('/api/users/{id}/orders?page=2&access_token=[REDACTED:field]');
    expect(masked.req_headers.Authorization).toBe('[REDACTED:header]');
    expect(masked.req_headers['User-Agent']).toBe('Mozilla/5.0');
    expect(masked.req_body).not.toContain('Wombat');
    expect(masked.req_body).not.toContain('4539');
  });

  it('takes the route the instrumentation named, and is the same for a request the sensor already redacted', () => {
    expect(maskedRow(row, { route: '/api/users/:user/orders' }).req_path.startsWith('/api/users/:user/orders?')).toBe(true);
    const twice = modelView(maskedRow(row));
    expect(twice).toEqual(modelView(row));
    expect(twice.params.find(([name]) => name === 'password')).toEqual(['password', encodeURIComponent('[REDACTED:field]')]);
  });

  it('refuses an unusable row with the reason', () => {
    expect(() => modelView({ req_path: '/x' })).toThrow('req_method is missing or not a string');
    expect(() => modelView({ req_method: 'GET', req_path: '/x', req_headers: '{nope' })).toThrow('req_headers is not valid JSON');
  });
});
