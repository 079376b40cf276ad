import { describe, expect, it } from 'vitest';
import { isIdentifier, routeTemplate } from './route.ts';

describe('routeTemplate', () => {
  it.each([
    ['/users/42', '/users/{id}'],
    ['/users/42/orders/7?page=2', '/users/{id}/orders/{id}'],
    ['/orders/3f2504e0-4f89-11d3-9a0c-0305e82c3301', '/orders/{id}'],
    ['/blobs/9f86d081884c7d65', '/blobs/{id}'],
    ['/s/eyJhbGciOiJIUzI1NiJ9abc123', '/s/{id}'],
    ['/api/v2/products', '/api/v2/products'],
    ['/tienda1/publico/autenticar.jsp', '/tienda1/publico/autenticar.jsp'],
    ['/reports/2024-01-31', '/reports/{id}'],
    ['/cafe/deadbeef', '/cafe/deadbeef'], // hex letters only: a word, not an id
    ['', '/'],
    ['/', '/'],
    ['/a/', '/a/'],
    ['/x#frag', '/x'],
  ])('%s → %s', (path, route) => {
    expect(routeTemplate(path)).toBe(route);
  });

  it('recognises identifiers but not ordinary words', () => {
    for (const id of ['1', '000123', '9f1c2e3d', 'AbC123xYz789QwE456', '550e8400-e29b-41d4-a716-446655440000']) expect(isIdentifier(id)).toBe(true);
    for (const word of ['users', 'v1', 'index.html', 'checkout', 'deadbeef', 'a-b-c']) expect(isIdentifier(word)).toBe(false);
  });
});
