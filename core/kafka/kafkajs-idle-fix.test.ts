import { describe, expect, it } from 'vitest';
import { RequestQueue } from './kafkajs-idle-fix.ts';

const noLogger = () => ({ debug() {}, info() {}, warn() {}, error() {} });

function queue() {
  return new RequestQueue({ maxInFlightRequests: 10, requestTimeout: 1000, enforceRequestTimeout: true, clientId: 't', broker: 'b', logger: { namespace: noLogger } });
}

describe('the kafkajs request-queue idle fix', () => {
  it('does not keep re-checking an idle queue (kafkajs 2.2.4 loops every millisecond)', async () => {
    const q = queue();
    let checks = 0;
    const original = q.checkPendingRequests.bind(q);
    q.checkPendingRequests = () => { checks++; original(); };
    q.scheduleCheckPendingRequests();
    await new Promise((r) => setTimeout(r, 200));
    expect(checks).toBe(0);
  });

  it('still checks while requests are pending or the broker throttles', async () => {
    const q = queue();
    let checks = 0;
    q.checkPendingRequests = () => { checks++; };
    q.pending.push({});
    q.scheduleCheckPendingRequests();
    await new Promise((r) => setTimeout(r, 50));
    expect(checks).toBe(1);
    q.pending.length = 0;
    q.throttledUntil = Date.now() + 30;
    q.scheduleCheckPendingRequests();
    await new Promise((r) => setTimeout(r, 80));
    expect(checks).toBe(2);
  });
});
