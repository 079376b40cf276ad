import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { KafkaConfig } from '../core/config.ts';
import type { RequestEvent } from '../core/events.ts';
import { createKafkaAdapter } from '../core/kafka/kafkajs.ts';
import { createLogger } from '../core/log.ts';
import { decodeSpansRecord } from './otlp/record.ts';

const bin = fileURLToPath(new URL('../bin/peregrine.js', import.meta.url));

describe('peregrine import pixie', () => {
  it('writes http_events rows as OTLP spans onto the spans topic, readable by our decoder', async () => {
    const topic = `test-pixie-${randomUUID().slice(0, 8)}`;
    const file = join(mkdtempSync(join(tmpdir(), 'pixie-')), 'http_events.jsonl');
    const rows = Array.from({ length: 30 }, (_, i) => ({
      time_: Date.UTC(2026, 0, 1) * 1e6 + i * 1e9, upid: `1:${100 + i}:1`, remote_addr: '10.0.0.9', remote_port: 40000 + i,
      local_addr: '10.0.0.2', local_port: 8080, trace_role: 2, req_method: i % 3 ? 'GET' : 'POST',
      req_path: `/tienda1/publico/anadir.jsp?id=${i}&nombre=Queso`, req_headers: '{"Host":"localhost:8080"}', req_body: i % 3 ? '' : 'cantidad=2',
      req_body_size: i % 3 ? 0 : 10, resp_status: i === 7 ? 500 : 200, resp_headers: '{}', resp_body: 'ok', resp_body_size: 2, latency: 2_000_000 + i,
    }));
    writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const { stdout } = await promisify(execFile)(process.execPath, [bin, 'import', 'pixie', file, '--batch', '8'], { env: { ...process.env, PEREGRINE__TOPICS__SPANS: topic } });
    expect(stdout).toMatch(/30 rows .* written as spans/);

    const kafka = createKafkaAdapter(KafkaConfig.parse({}), createLogger({ level: 'warn', pretty: false }));
    const events: RequestEvent[] = [];
    const consumer = await kafka.consume({
      groupId: `g-${topic}`, topics: [topic], fromBeginning: true,
      onBatch: async (b) => { for (const r of b.records) events.push(...decodeSpansRecord(r)); },
    });
    const deadline = Date.now() + 30_000;
    while (events.length < 30 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    await consumer.stop();
    await kafka.close();
    expect(events).toHaveLength(30);
    const post = events.find((e) => e.method === 'POST' && e.path === '/tienda1/publico/anadir.jsp' && e.query === 'id=0&nombre=Queso');
    expect(post).toBeDefined();
    expect(post!.spanKind).toBe('server');
    expect(post!.clientAddress).toBe('10.0.0.9');
    expect(events.filter((e) => e.error)).toHaveLength(1);
    expect(events.find((e) => e.httpStatus === 500)!.durationMs).toBeCloseTo(2.000007, 3);
  });
});
