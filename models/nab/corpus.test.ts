import { describe, expect, it } from 'vitest';
import { matchResultFiles } from './corpus.ts';

describe('matchResultFiles', () => {
  const labelled = new Set(['realKnownCause/nyc_taxi.csv', 'realAWSCloudwatch/ec2_cpu_utilization_24ae8d.csv', 'artificialNoAnomaly/art_noisy.csv']);

  it("accepts NAB's <category>/<detector>_<file>.csv and plain <category>/<file>.csv, skipping *_scores.csv", () => {
    const { matched, unmatched } = matchResultFiles(
      [
        'realKnownCause/numenta_nyc_taxi.csv',
        'realAWSCloudwatch/my_detector_ec2_cpu_utilization_24ae8d.csv',
        'artificialNoAnomaly/art_noisy.csv',
        'numenta_standard_scores.csv',
        'realKnownCause/other.csv',
      ],
      labelled,
    );
    expect(Object.fromEntries(matched)).toEqual({
      'realKnownCause/nyc_taxi.csv': 'realKnownCause/numenta_nyc_taxi.csv',
      'realAWSCloudwatch/ec2_cpu_utilization_24ae8d.csv': 'realAWSCloudwatch/my_detector_ec2_cpu_utilization_24ae8d.csv',
      'artificialNoAnomaly/art_noisy.csv': 'artificialNoAnomaly/art_noisy.csv',
    });
    expect(unmatched).toEqual(['realKnownCause/other.csv']);
  });

  it('refuses two result files for one data file', () => {
    expect(() => matchResultFiles(['realKnownCause/a_nyc_taxi.csv', 'realKnownCause/nyc_taxi.csv'], labelled)).toThrow(/both/);
  });
});
