/**
 * The loader's C engine under AddressSanitizer, UBSan and LeakSanitizer: a short run of the
 * fuzzer (`npm run fuzz:sensor` runs a million streams). Needs gcc with libasan and libubsan
 * (ebpf/install-deps.sh); skipped, loudly, without them.
 */
import { describe, expect, it } from 'vitest';
import { buildFuzz, runFuzz } from '../bench/fuzz-sensor.ts';

const unbuilt = buildFuzz();
if (unbuilt) process.stderr.write(`\n\n*** SKIPPED: C engine fuzz smoke test: ${unbuilt} ***\n\n\n`);
const describeFuzz = unbuilt ? describe.skip : describe;

describeFuzz('the C engine under sanitizers', () => {
  it('survives 20,000 random and mutated streams: no crash, no undefined behaviour, no leak', () => {
    const seed = 20261206; // fixed: a failure here replays as it happened (the report names the stream)
    const summary = runFuzz(20_000, 10_000, seed);
    expect(summary.first_failure ?? '').toBe('');
    expect(summary).toMatchObject({ streams: 20_000, crashes: 0, leaks: 0, undefined_behaviour: 0 });
    expect(summary.records).toBeGreaterThan(200_000);
  }, 900_000);
});
