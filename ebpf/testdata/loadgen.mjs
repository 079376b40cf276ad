// Open-loop HTTP load at a fixed rate over keep-alive connections:
// `loadgen.mjs <port> <rate per s> <seconds>`; prints one JSON line with the latencies.
import http from 'node:http';

const [port, rate, seconds] = process.argv.slice(2).map(Number);
const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
const total = Math.round(rate * seconds);
const latencies = new Float64Array(total);
let sent = 0, done = 0, errors = 0;
const start = process.hrtime.bigint();

function one(i) {
  const t0 = process.hrtime.bigint();
  const req = http.get({ host: '127.0.0.1', port, path: `/items?q=load-${i}`, agent }, (res) => {
    res.resume();
    res.on('end', () => {
      latencies[done++] = Number(process.hrtime.bigint() - t0) / 1e6;
      if (res.statusCode !== 200) errors++;
      if (done + errors === total || done === total) finish();
    });
  });
  req.on('error', () => { errors++; if (done + errors === total) finish(); });
}

function finish() {
  const wall = Number(process.hrtime.bigint() - start) / 1e9;
  const sorted = Array.from(latencies.subarray(0, done)).sort((a, b) => a - b);
  const q = (p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
  process.stdout.write(JSON.stringify({ sent, done, errors, wall_s: wall, rps: done / wall, p50_ms: q(0.5), p90_ms: q(0.9), p99_ms: q(0.99) }) + '\n');
  agent.destroy();
}

// Every 5 ms, send what the schedule says is due (catching up if the loop was late).
const timer = setInterval(() => {
  const due = Math.min(total, Math.floor((Number(process.hrtime.bigint() - start) / 1e9) * rate));
  while (sent < due) one(sent++);
  if (sent >= total) clearInterval(timer);
}, 5);
