import { describe, expect, it } from 'vitest';
import { DecodeError } from '../../core/errors.ts';
import { BODY_PARAM, decodeFormValue, parseHttpRow } from './request.ts';
import { valueShape } from './shape.ts';

const headers = JSON.stringify({ Host: 'localhost:8080', 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': '9' });

describe('parseHttpRow', () => {
  it('splits path, query and form body into ordered parameters and lower-cases header names', () => {
    const r = parseHttpRow({ id: 'a', req_method: 'post', req_path: '/shop/pay.jsp?mode=x&flag', req_headers: headers, req_body: 'price=100', req_body_size: 9 });
    expect(r.method).toBe('POST');
    expect(r.path).toBe('/shop/pay.jsp');
    expect(r.params).toEqual([['mode', 'x'], ['flag', ''], ['price', '100']]);
    expect(r.headers.map(([n]) => n)).toEqual(['host', 'content-type', 'content-length']);
    expect(r.bodyBytes).toBe(9);
    expect(r.rawBody).toBe('');
  });

  it('keeps a body that is neither a form nor JSON as one pseudo-parameter', () => {
    const r = parseHttpRow({ req_method: 'POST', req_path: '/api', req_headers: { 'Content-Type': 'text/xml' }, req_body: '<a>1</a>' });
    expect(r.params).toEqual([]);
    expect(r.rawBody).toBe('<a>1</a>');
    expect(BODY_PARAM).toBe('(body)');
    expect(r.id).toBeNull();
  });

  it('reads a JSON body as parameters (array positions folded, values encoded as a form would), a cut one whole', () => {
    const r = parseHttpRow({ req_method: 'POST', req_path: '/api/cart', req_headers: { 'Content-Type': 'application/json' }, req_body: '{"items":[{"sku":"A 1","qty":2},{"sku":"B&C","qty":1}],"note":null,"gift":true}' });
    expect(r.params).toEqual([['items[].sku', 'A%201'], ['items[].qty', '2'], ['items[].sku', 'B%26C'], ['items[].qty', '1'], ['note', 'null'], ['gift', 'true']]);
    expect(r.rawBody).toBe('');
    const cut = parseHttpRow({ req_method: 'POST', req_path: '/api/cart', req_body: '{"items":[{"sku":"A' });
    expect(cut.params).toEqual([]);
    expect(cut.rawBody).toBe('{"items":[{"sku":"A');
  });

  it.each([
    [null, 'not a JSON object'],
    [[1], 'not a JSON object'],
    [{ req_path: '/' }, 'req_method'],
    [{ req_method: 'GET' }, 'req_path'],
    [{ req_method: 'GET', req_path: '/', req_headers: '{oops' }, 'req_headers is not valid JSON'],
    [{ req_method: 'GET', req_path: '/', req_headers: '[1]' }, 'req_headers is not a JSON object'],
    [{ req_method: 'GET', req_path: '/', req_body: 5 }, 'req_body'],
  ])('rejects %j with a DecodeError naming the problem', (row, message) => {
    expect(() => parseHttpRow(row)).toThrow(DecodeError);
    expect(() => parseHttpRow(row)).toThrow(message);
  });
});

describe('decodeFormValue', () => {
  it('decodes + and %XX as Latin-1 bytes and leaves broken escapes alone', () => {
    expect(decodeFormValue('Jam%F3n+Ib%E9rico')).toBe('Jamón Ibérico');
    expect(decodeFormValue('a%40b')).toBe('a@b');
    expect(decodeFormValue('%2500')).toBe('%00'); // double encoding stays visible
    expect(decodeFormValue('100%')).toBe('100%');
    expect(decodeFormValue('%zz')).toBe('%zz');
  });
});

describe('valueShape', () => {
  it('collapses letter and digit runs but not punctuation', () => {
    expect(valueShape('17621392B').fine).toBe('9A');
    expect(valueShape('tarpey@bwds.ne').fine).toBe('a@a.a');
    expect(valueShape('zigon@@@callalelaboca.so').fine).toBe('a@@@a.a');
    expect(valueShape('Calle Clavel 30').coarse).toBe('a a 9');
    expect(valueShape('d1se3ci').word).toBe('a');
  });

  it('counts character classes per value (letters of any case as one class)', () => {
    const s = valueShape('gor@mley@Api.kz');
    expect(s.classes).toEqual(['a', '@', '.']);
    expect(s.classCounts).toEqual([12, 2, 1]);
    expect(valueShape('Óscar').classes).toEqual(['a']);
  });

  it('treats a long random alphanumeric token as one symbol', () => {
    expect(valueShape('JSESSIONID=A1F3A4BA6AB79D9F1F5B0BD1F9BAB4A0').fine).toBe('A=x');
    expect(valueShape('JSESSIONID=81761ACA043B0E6014CA42A4BCD06AB5').fine).toBe('A=x');
    expect(valueShape('abc123').fine).toBe('a9'); // short: shape kept
  });

  it('reads numbers', () => {
    expect(valueShape('42').numeric).toBe(42);
    expect(valueShape('-3,5').numeric).toBe(-3.5);
    expect(valueShape('1642A').numeric).toBeUndefined();
  });
});
