/**
 * `npm run bench:connections`: the sensor agent's connection table under churn. With `BENCH_TRACKED` (10,000)
 * idle connections tracked, opens (each replacing an instance on a reused fd, as a busy server's accept loop
 * does) and closes per second, in rounds (median reported). Last stdout line: one JSON object.
 */
import { ConnectionTracker } from '../ebpf/agent/connections.ts';
import type { ConnRecord } from '../ebpf/agent/frames.ts';

const tracked = Number(process.env.BENCH_TRACKED ?? 10_000);
const perRound = 50_000;
const tracker = new ConnectionTracker({ maxConnections: tracked * 2 });
let ts = 1;
const record = (type: 'conn-open' | 'conn-close', fd: number, connId: string): ConnRecord => ({
  type, tgid: 4242, tid: 4242, fd, tsNs: ts++, connId, bytesSent: 0, bytesReceived: 0, cgroupId: '1',
  local: { address: '10.0.0.8', port: 8080 }, remote: { address: '10.0.0.9', port: 40000 + (fd % 20000) }, role: 'server', preexisting: false, comm: 'server',
});
for (let i = 0; i < tracked; i++) tracker.onRecord(record('conn-open', i, `idle-${i}`));

let n = 0;
const rounds: number[] = [];
for (let round = 0; round < 7; round++) {
  const t0 = performance.now();
  for (let i = 0; i < perRound; i++, n++) {
    const fd = tracked + (n % 256);
    tracker.onRecord(record('conn-open', fd, `churn-${n}`)); // replaces the instance left on this fd 256 opens ago
    if (n % 2 === 0) tracker.onRecord(record('conn-close', fd, `churn-${n}`));
  }
  if (round > 0) rounds.push(perRound / ((performance.now() - t0) / 1000)); // round 0 warms up
}
rounds.sort((a, b) => a - b);
if (tracker.size < tracked) throw new Error(`idle connections lost: ${tracker.size} tracked`);
console.log(JSON.stringify({ bench: 'connections', tracked_connections: tracked, opens_per_sec: Math.round(rounds[rounds.length >> 1]!), rounds: rounds.map(Math.round) }));
