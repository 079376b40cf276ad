// The floor under any Node agent, for bench:sensor: runs the loader forwarding every record as BPF
// wrote it (--raw: no engine) and reads that whole stream from the pipe, doing nothing with it (no
// framing, parsing or export).
// `null-agent.mjs <loader> [loader args...]`; prints "running" once the loader streams, and the
// byte count when it stops on SIGTERM.
import { spawn } from 'node:child_process';

const [loader, ...args] = process.argv.slice(2);
const child = spawn(loader, ['--raw', '--exclude-pid', String(process.pid), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
let bytes = 0;
child.stdout.on('data', (chunk) => { bytes += chunk.length; });
child.stderr.on('data', (d) => { if (/running:/.test(d.toString())) process.stdout.write('running\n'); });
child.on('exit', (code) => {
  process.stdout.write(`stopped ${JSON.stringify({ bytes, code })}\n`);
  process.exit(0);
});
process.on('SIGTERM', () => child.kill('SIGTERM'));
