import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluateNab } from './cli.ts';
import { sharedDataPath } from '../../core/testing/shared-data.ts';

const nab = sharedDataPath('nab');

const published: Record<string, [number, number, number]> = {
  numenta: [66.59, 60.81, 71.06],
  windowedGaussian: [21.97, 4.87, 29.8],
};

describe('NAB v1.1 scorer reproduces the published figures on the 35 shared files', () => {
  for (const [detector, [standard, lowFp, lowFn]] of Object.entries(published)) {
    it(`${detector}: ${standard} / ${lowFp} / ${lowFn}`, async () => {
      const result = await evaluateNab({
        data: path.join(nab, 'data'),
        labels: path.join(nab, 'combined_windows.json'),
        results: path.join(nab, 'results', detector),
      });
      expect(result.filesScored).toBe(35);
      expect(result.missing).toEqual([]);
      expect(result.profilesSource).toBe(path.join(nab, 'profiles.json'));
      const byName = Object.fromEntries(result.profiles.map((p) => [p.profile, Number(p.normalizedScore.toFixed(2))]));
      expect(byName).toEqual({ standard, reward_low_FP_rate: lowFp, reward_low_FN_rate: lowFn });
    });
  }
});
