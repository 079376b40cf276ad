// Test server for the sensor's integration tests: plain HTTP, or HTTPS with --cert/--key.
// Prints "listening <port>" once ready.
import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const opt = (name) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };

function handler(req, res) {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/upload') {
    // Count, never buffer: the upload test sends 1 GiB.
    let n = 0;
    req.on('data', (c) => { n += c.length; });
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`received ${n} bytes`);
    });
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    if (url.pathname === '/items') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true, q: url.searchParams.get('q'), marker: 'items-response-marker' }));
    } else if (url.pathname === '/echo' || url.pathname === '/secrets/submit') {
      res.writeHead(201, { 'content-type': req.headers['content-type'] ?? 'text/plain' });
      res.end(body);
    } else if (url.pathname === '/chunked') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('chunk-one;');
      setTimeout(() => { res.write('chunk-two;'); res.end('chunk-three'); }, 20);
    } else if (url.pathname === '/boom') {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal failure marker');
    } else if (url.pathname === '/big') {
      const n = Number(url.searchParams.get('n') ?? '100000');
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': n });
      res.end(Buffer.alloc(n, 0x61));
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('no such thing');
    }
  });
}

const server = opt('--cert')
  ? https.createServer({ cert: readFileSync(opt('--cert')), key: readFileSync(opt('--key')) }, handler)
  : http.createServer(handler);
server.keepAliveTimeout = 30_000;
server.listen(Number(opt('--port') ?? 0), '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
