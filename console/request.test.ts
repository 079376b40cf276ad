import { describe, expect, it } from 'vitest';
import { requestView } from './request.ts';

describe('request view', () => {
  it('marks the value of the parameter the explanation names, with its decoded form', () => {
    const view = requestView(
      { method: 'GET', target: "/search?page=2&q=%27+OR+1%3D1--&sort=asc", headers: { 'User-Agent': 'sqlmap/1.7', Host: 'shop' }, body: '' },
      [{ feature: 'value:q' }, { feature: 'char_class:q' }, { feature: 'header_value:user-agent' }],
    );
    expect(view.target).toEqual([{ text: '/search' }, { text: '?' }, { text: 'page=2&q=' }, { text: '%27+OR+1%3D1--', mark: 'char_class', decoded: "' OR 1=1--" }, { text: '&sort=asc' }]);
    expect(view.headers).toEqual([
      { name: { text: 'User-Agent' }, value: [{ text: 'sqlmap/1.7', mark: 'header_value' }] },
      { name: { text: 'Host' }, value: [{ text: 'shop' }] },
    ]);
    expect(view.method).toEqual({ text: 'GET' });
    expect(view.body).toEqual([]);
  });

  it('marks new names, unknown routes and methods, form bodies and whole raw bodies', () => {
    const form = requestView(
      { method: 'PUT', target: '/admin/x', headers: { 'content-type': 'application/x-www-form-urlencoded', 'X-Debug': '1' }, body: 'user=ana&cmd=cat+/etc/passwd' },
      [{ feature: 'route' }, { feature: 'method' }, { feature: 'param_name:cmd' }, { feature: 'value:cmd' }, { feature: 'header_name:x-debug' }],
    );
    expect(form.method).toEqual({ text: 'PUT', mark: 'method' });
    expect(form.target).toEqual([{ text: '/admin/x', mark: 'route' }]);
    expect(form.body).toEqual([{ text: 'user=ana&' }, { text: 'cmd', mark: 'param_name' }, { text: '=' }, { text: 'cat+/etc/passwd', mark: 'value', decoded: 'cat /etc/passwd' }]);
    expect(form.headers[1]!.name).toEqual({ text: 'X-Debug', mark: 'header_name' });
    const raw = requestView({ method: 'POST', target: '/api', headers: { 'content-type': 'application/json' }, body: '{"a":"<script>"}' }, [{ feature: 'shape:(body)' }]);
    expect(raw.body).toEqual([{ text: '{"a":"<script>"}', mark: 'shape' }]);
  });

  it('shows a long body cut, saying how much is left out', () => {
    const view = requestView({ method: 'POST', target: '/', headers: { 'content-type': 'text/plain' }, body: 'x'.repeat(20_000) }, []);
    expect(view.body[0]!.text).toHaveLength(16_384);
    expect(view.bodyTruncated).toBe(20_000 - 16_384);
  });
});
