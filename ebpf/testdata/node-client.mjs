// Test client: `fetch <base> <json list of [method, path, body?, contentType?]>` sends them in order
// over fetch's keep-alive pool; `pipeline <port> <path> <path>` writes pipelined GETs on one socket;
// `garbage <port> <kind>` writes non-HTTP bytes. Prints one line per response.
import net from 'node:net';

const [mode, ...rest] = process.argv.slice(2);
if (mode === 'fetch') {
  const [base, list] = rest;
  for (const [method, path, body, contentType, headers] of JSON.parse(list)) {
    const res = await fetch(base + path, { method, body, headers: { ...(contentType ? { 'content-type': contentType } : {}), ...(headers ?? {}) } });
    const text = await res.text();
    console.log(res.status, text.slice(0, 80));
  }
} else if (mode === 'pipeline') {
  const [port, ...paths] = rest;
  const socket = net.connect(Number(port), '127.0.0.1');
  socket.on('connect', () => socket.write(paths.map((p) => `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`).join('')));
  let seen = '';
  socket.on('data', (d) => {
    seen += d.toString('latin1');
    if ((seen.match(/HTTP\/1\.1 /g) ?? []).length >= paths.length && /\r\n\r\n[^]*$/.test(seen)) setTimeout(() => socket.end(), 100);
  });
  socket.on('close', () => console.log(seen.split('\r\n')[0]));
} else if (mode === 'garbage') {
  const [port, kind] = rest;
  const socket = net.connect(Number(port), '127.0.0.1');
  const payloads = {
    binary: Buffer.from(Array.from({ length: 4000 }, (_, i) => (i * 7919) % 256)),
    truncated: Buffer.from('POST /trunc HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly-part'),
    malformed: Buffer.from('GET /bad HTTP/1.1\r\nHost x\r\nBroken\0Header: y\r\n\r\n'),
    http2: Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04\x00\x00\x00\x00\x00'),
    hugeheader: Buffer.from(`GET /huge HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(40000)}\r\n\r\n`),
  };
  socket.on('connect', () => socket.end(payloads[kind]));
  socket.on('error', () => {});
  socket.on('close', () => console.log('closed', kind));
  socket.resume();
} else if (mode === 'upload') {
  // A Content-Length body of <bytes> bytes, streamed; prints the server's answer.
  const [port, bytes] = rest;
  const total = Number(bytes);
  const http = await import('node:http');
  const block = Buffer.alloc(256 * 1024, 0x62);
  await new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: Number(port), method: 'POST', path: '/upload', headers: { 'content-length': total } }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => { console.log(res.statusCode, text); resolve(); });
    });
    req.on('error', reject);
    let sent = 0;
    const pump = () => {
      while (sent < total) {
        const n = Math.min(block.length, total - sent);
        sent += n;
        if (!req.write(n === block.length ? block : block.subarray(0, n))) return req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
} else if (mode === 'idle') {
  // Opens a connection, sends half a request, and keeps it open for <ms>.
  const [port, ms] = rest;
  const socket = net.connect(Number(port), '127.0.0.1');
  socket.on('connect', () => socket.write('GET /never-finished HTTP/1.1\r\nHost: x\r\n'));
  socket.on('error', () => {});
  setTimeout(() => { socket.destroy(); console.log('idle done'); }, Number(ms));
} else {
  console.error('unknown mode', mode);
  process.exit(2);
}
