// The login form posts the token once; the server answers with a session cookie and sends the browser back here.
const params = new URLSearchParams(location.search);
const next = location.pathname === '/login' ? params.get('next') : location.pathname + location.search;
if (next && next.startsWith('/') && !next.startsWith('//')) document.getElementById('next').value = next;
if (params.get('failed')) document.getElementById('login-error').hidden = false;
document.getElementById('token').focus();
