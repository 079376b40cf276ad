import { describe, expect, it } from 'vitest';
import { MetricsRegistry } from '../core/metrics.ts';
import { initTf, tfBackendName } from './tf.ts';

describe('TF.js backend', () => {
  it('defaults to wasm here (tfjs-node is not installed) and is reported on /metrics', async () => {
    const backend = await initTf();
    expect(backend).toBe('wasm');
    expect(tfBackendName()).toBe('wasm');
    const text = await new MetricsRegistry().registry.metrics();
    expect(text).toMatch(/peregrine_tfjs_backend_info\{backend="wasm"\} 1/);
  });
});
