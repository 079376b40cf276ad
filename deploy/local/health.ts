/** Real health checks: each asks the server itself, with a short timeout. */
import { Kafka, logLevel } from 'kafkajs';
import { errorMessage } from '../../core/errors.ts';
import type { Health } from './services/types.ts';

export async function httpHealth(url: string, options: { timeoutMs?: number; accept?: (status: number, body: string) => Health | undefined } = {}): Promise<Health> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(options.timeoutMs ?? 2000) });
    const body = await response.text();
    const custom = options.accept?.(response.status, body);
    if (custom) return custom;
    return response.ok ? { healthy: true, detail: `${response.status}` } : { healthy: false, detail: `${url} answered ${response.status}` };
  } catch (error) {
    return { healthy: false, detail: `${url}: ${describeFetchError(error)}` };
  }
}

function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: { code?: string } }).cause;
  if (cause?.code) return cause.code;
  return errorMessage(error);
}

/** Elasticsearch: GET /_cluster/health (the integration-test distribution has no `GET /`). Green or yellow is up. */
export async function elasticsearchHealth(baseUrl: string): Promise<Health> {
  return httpHealth(`${baseUrl}/_cluster/health`, {
    accept: (status, body) => {
      if (status !== 200) return undefined;
      const { status: color } = JSON.parse(body) as { status?: string };
      return { healthy: color === 'green' || color === 'yellow', detail: color ?? 'unknown' };
    },
  });
}

/** Kafka: the broker answers a metadata request (kafkajs admin describeCluster). */
export async function kafkaHealth(broker: string, timeoutMs = 3000): Promise<Health> {
  const kafka = new Kafka({
    clientId: 'peregrine-stack-health',
    brokers: [broker],
    logLevel: logLevel.NOTHING,
    connectionTimeout: Math.min(1000, timeoutMs),
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timed out')), timeoutMs).unref());
  try {
    const cluster = await Promise.race([admin.connect().then(() => admin.describeCluster()), timeout]);
    return { healthy: cluster.brokers.length > 0, detail: `${cluster.brokers.length} broker(s), controller ${cluster.controller}` };
  } catch (error) {
    return { healthy: false, detail: `${broker}: ${errorMessage(error)}` };
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
