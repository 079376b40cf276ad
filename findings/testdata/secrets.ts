/**
 * A secrets corpus: credentials as real requests carry them (password fields in forms, JSON and query strings, bearer
 * tokens, JWTs, API keys by shape and by name, session cookies, card numbers) — each secret unique, so a search of
 * everything Peregrine stored for it must find nothing. Shared by the unit test of the masking and the pipeline's
 * integration test.
 */
import type { RequestRecord } from '../finding.ts';

export interface SecretCase {
  name: string;
  /** Every string that must not be found anywhere (the secret, and parts of it that identify it). */
  secrets: string[];
  request: RequestRecord;
}

// A JWT whose three parts are distinct from any other case (header {"alg":"HS256","typ":"JWT"}, payload {"sub":"…"}).
const JWT = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJwZXJlZ3JpbmUtc2VjcmV0LXVzZXItNzcifQ.Qm9vWnlNZzQ3U2VjcmV0U2lnbmF0dXJlWA';
const JWT_PARTS = JWT.split('.').slice(1);

const form = { 'content-type': 'application/x-www-form-urlencoded' };
const json = { 'content-type': 'application/json' };

export const SECRET_CASES: SecretCase[] = [
  { name: 'password in a login form', secrets: ['Wombat-Staple-4417'], request: { method: 'POST', target: '/login', headers: form, body: 'user=ana&password=Wombat-Staple-4417&remember=on' } },
  { name: 'password in a JSON body', secrets: ['CorrectHorse!Battery93'], request: { method: 'POST', target: '/api/session', headers: json, body: '{"email":"ana@example.com","password":"CorrectHorse!Battery93"}' } },
  { name: 'new password and confirmation', secrets: ['Lighthouse&Quartz58'], request: { method: 'POST', target: '/account/password', headers: form, body: 'current_password=Lighthouse%26Quartz58&new_password=Lighthouse%26Quartz58' } },
  { name: 'pwd in a query string', secrets: ['tangerine7781'], request: { method: 'GET', target: '/tienda1/publico/autenticar.jsp?modo=entrar&login=ana&pwd=tangerine7781&B1=Entrar', headers: {}, body: '' } },
  { name: 'bearer token', secrets: ['7f3c9a1e5b2d8f4a6c0e9b1d3f5a7c9e'], request: { method: 'GET', target: '/api/orders', headers: { authorization: 'Bearer 7f3c9a1e5b2d8f4a6c0e9b1d3f5a7c9e' }, body: '' } },
  { name: 'basic credentials', secrets: ['YWRtaW46UzNjcjN0UGFzc3dvcmQ='], request: { method: 'GET', target: '/admin', headers: { authorization: 'Basic YWRtaW46UzNjcjN0UGFzc3dvcmQ=' }, body: '' } },
  { name: 'JWT in a query string', secrets: [JWT, ...JWT_PARTS], request: { method: 'GET', target: `/api/me?access_token=${JWT}`, headers: {}, body: '' } },
  { name: 'JWT in a free-text field', secrets: [JWT, ...JWT_PARTS], request: { method: 'POST', target: '/support', headers: json, body: JSON.stringify({ message: `my token is ${JWT} please help` }) } },
  { name: 'session cookie', secrets: ['s%3AQx81mZr0Lk2Pv9Ty4Bn7Wc.session-secret-93'], request: { method: 'GET', target: '/cart', headers: { cookie: 'theme=dark; sid=s%3AQx81mZr0Lk2Pv9Ty4Bn7Wc.session-secret-93' }, body: '' } },
  { name: 'API key header', secrets: ['k3y-live-61f0b2c94e7a4d18'], request: { method: 'GET', target: '/api/stock', headers: { 'x-api-key': 'k3y-live-61f0b2c94e7a4d18' }, body: '' } },
  { name: 'AWS access key by shape', secrets: ['AKIAZ7Q4TRV2MP8XK3LD'], request: { method: 'POST', target: '/api/notes', headers: json, body: '{"note":"deploy with AKIAZ7Q4TRV2MP8XK3LD today"}' } },
  { name: 'GitHub token by shape', secrets: ['ghp_R8mK2vQ9xT4wL7nB3cF6hJ1pS5dG0aZyEuWo'], request: { method: 'GET', target: '/api/repos?q=ghp_R8mK2vQ9xT4wL7nB3cF6hJ1pS5dG0aZyEuWo', headers: {}, body: '' } },
  { name: 'Stripe key by shape', secrets: ['sk_live_51Hq8ZyTx3Wv9Rm2Kp4Ln7Bc'], request: { method: 'POST', target: '/api/config', headers: json, body: '{"payments":{"key":"sk_live_51Hq8ZyTx3Wv9Rm2Kp4Ln7Bc"}}' } },
  { name: 'client secret by name', secrets: ['q8Vz-Mk2p-77Lw-Rn4x'], request: { method: 'POST', target: '/oauth/token', headers: form, body: 'grant_type=client_credentials&client_id=shop&client_secret=q8Vz-Mk2p-77Lw-Rn4x' } },
  { name: 'card number in a form (Luhn)', secrets: ['4539578763621486', '4539 5787 6362 1486'], request: { method: 'POST', target: '/checkout', headers: form, body: 'name=Ana&card_number=4539+5787+6362+1486&exp=12%2F29' } },
  { name: 'card number as a JSON number', secrets: ['5425233430109903'], request: { method: 'POST', target: '/api/pay', headers: json, body: '{"amount":1299,"pan":5425233430109903,"cvv":"719"}' } },
  { name: 'card number in free text', secrets: ['374245455400126'], request: { method: 'POST', target: '/api/orders/7/notes', headers: json, body: '{"note":"charge 374245455400126 again"}' } },
];
