import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, fetch } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from './errors.ts';
import { MetricsRegistry } from './metrics.ts';

describe('the metrics endpoint', () => {
  const dir = mkdtempSync(join(tmpdir(), 'peregrine-metrics-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('serves /metrics and /healthz on 127.0.0.1 with no token configured', async () => {
    const metrics = new MetricsRegistry();
    metrics.addHealthCheck('stage', () => true);
    const { server, port } = await metrics.serve({ host: '127.0.0.1', port: 0 });
    try {
      expect(server.address()).toMatchObject({ address: '127.0.0.1' });
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('peregrine_records_in_total');
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    } finally {
      server.close();
    }
  });

  it('with a token and TLS: /metrics wants the bearer token, /healthz stays open to probes', async () => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
      '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'pipe' });
    const metrics = new MetricsRegistry();
    metrics.addHealthCheck('stage', () => false);
    const { server, port } = await metrics.serve({
      host: '127.0.0.1', port: 0, authToken: 'scrape-token', tls: { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') },
    });
    const dispatcher = new Agent({ connect: { ca: readFileSync(join(dir, 'cert.pem')) } });
    try {
      const url = `https://127.0.0.1:${port}`;
      const anonymous = await fetch(`${url}/metrics`, { dispatcher });
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
      expect((await fetch(`${url}/metrics`, { dispatcher, headers: { authorization: 'Bearer wrong-token!' } })).status).toBe(401);
      const scraped = await fetch(`${url}/metrics`, { dispatcher, headers: { authorization: 'Bearer scrape-token' } });
      expect(scraped.status).toBe(200);
      expect(await scraped.text()).toContain('peregrine_records_in_total');
      const health = await fetch(`${url}/healthz`, { dispatcher });
      expect(health.status).toBe(503);
      expect(await health.json()).toEqual({ ok: false, checks: { stage: false } });
      // Plain HTTP gets nowhere on a TLS port.
      await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    } finally {
      await dispatcher.close();
      server.closeAllConnections();
      server.close();
    }
  });

  it('stops start-up naming the key when a TLS file cannot be read', async () => {
    const serving = new MetricsRegistry().serve({ host: '127.0.0.1', port: 0, tls: { cert: join(dir, 'missing.pem'), key: join(dir, 'missing.pem') } });
    await expect(serving).rejects.toThrow(ConfigError);
    await expect(serving).rejects.toThrow(/metrics\.tls\.cert: cannot read/);
  });
});

describe('detection metrics', () => {
  it('counts delivered findings by detector, technique and severity band, and observes window end → acknowledgement', async () => {
    const metrics = new MetricsRegistry();
    const windowEndMs = 1_000_000;
    metrics.findingDelivered({ detector: 'http_request', technique: 'T1190', severity: 73, windowEndMs }, windowEndMs + 12_500);
    metrics.findingDelivered({ detector: 'error_ratio', severity: 21, windowEndMs }, windowEndMs + 40_000);
    metrics.findingDelivered({ detector: 'error_ratio', severity: 99, windowEndMs }, windowEndMs - 5); // a clock behind the event time
    const text = await metrics.registry.metrics();
    expect(text).toContain('peregrine_findings_total{detector="http_request",technique="T1190",severity="high"} 1');
    expect(text).toContain('peregrine_findings_total{detector="error_ratio",technique="none",severity="low"} 1');
    expect(text).toContain('peregrine_findings_total{detector="error_ratio",technique="none",severity="critical"} 1');
    expect(text).toContain('peregrine_detection_latency_seconds_bucket{le="15",detector="http_request"} 1');
    expect(text).toContain('peregrine_detection_latency_seconds_bucket{le="10",detector="http_request"} 0');
    expect(text).toContain('peregrine_detection_latency_seconds_sum{detector="error_ratio"} 40');
    expect(text).toContain('peregrine_detection_latency_seconds_count{detector="error_ratio"} 2');
  });

  it('reports each /healthz check as a gauge', async () => {
    const metrics = new MetricsRegistry();
    let consuming = true;
    metrics.addHealthCheck('features', () => consuming);
    expect(await metrics.registry.metrics()).toContain('peregrine_health_check{check="features"} 1');
    consuming = false;
    expect(await metrics.registry.metrics()).toContain('peregrine_health_check{check="features"} 0');
  });
});
