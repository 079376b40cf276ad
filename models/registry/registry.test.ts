import { describe, expect, it } from 'vitest';
import { compareToChampion } from './track.ts';
import { mlflowUrl, modelCacheDir, parseModelUri } from './uri.ts';

describe('champion comparison rule', () => {
  it('promotes only a strictly better challenger (by more than the margin)', () => {
    expect(compareToChampion(0.93, 0.90).promote).toBe(true);
    expect(compareToChampion(0.90, 0.90).promote).toBe(false);
    expect(compareToChampion(0.80, 0.90)).toEqual({ promote: false, reason: 'challenger 0.800000 does not beat champion 0.900000' });
    expect(compareToChampion(0.91, 0.90, 0.02).promote).toBe(false);
    expect(compareToChampion(NaN, 0.5).promote).toBe(false);
    expect(compareToChampion(0.6, NaN).promote).toBe(true);
  });
});

describe('model URIs and settings', () => {
  it('parses models:/NAME@ALIAS and models:/NAME/VERSION, and rejects anything else', () => {
    expect(parseModelUri('models:/window@champion')).toEqual({ name: 'window', alias: 'champion' });
    expect(parseModelUri('models:/window/12')).toEqual({ name: 'window', version: '12' });
    expect(() => parseModelUri('models:/window')).toThrow(/models:\/NAME@ALIAS/);
  });
  it('finds MLflow from the option, then the environment, and names a bad value', () => {
    expect(mlflowUrl(undefined, {})).toBe('http://127.0.0.1:5000');
    expect(mlflowUrl(true, { PEREGRINE_MLFLOW_URL: 'http://mlflow:5000/' })).toBe('http://mlflow:5000');
    expect(mlflowUrl('http://a:1', { PEREGRINE_MLFLOW_URL: 'http://b:2' })).toBe('http://a:1');
    expect(mlflowUrl(undefined, { MLFLOW_TRACKING_URI: 'file:///tmp/mlruns' })).toBe('http://127.0.0.1:5000');
    expect(() => mlflowUrl('ftp://x', {})).toThrow('--mlflow: "ftp://x" is not an http(s) URL');
    expect(modelCacheDir({ XDG_CACHE_HOME: '/c' })).toBe('/c/peregrine/models');
  });
});
