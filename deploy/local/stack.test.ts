import { describe, expect, it } from 'vitest';
import { DEFAULT_FRONTEND, parseServiceNames, selectServices } from './stack.ts';
import { stackDir } from './paths.ts';

describe('selectServices', () => {
  it('is everything with Peregrine\'s receiver as the front end by default, in dependency order', () => {
    expect(selectServices(undefined, DEFAULT_FRONTEND)).toEqual(['kafka', 'elasticsearch', 'peregrine-receiver', 'jaeger-query', 'mlflow', 'console']);
  });
  it('runs the stock collector instead with --frontend collector', () => {
    expect(selectServices(undefined, 'collector')).toEqual(['kafka', 'elasticsearch', 'jaeger-collector', 'jaeger-query', 'mlflow', 'console']);
  });
  it('brings the dependencies of --only along', () => {
    expect(selectServices(['jaeger-query'], 'collector')).toEqual(['kafka', 'elasticsearch', 'jaeger-query']);
    expect(selectServices(['mlflow'], 'collector')).toEqual(['mlflow']);
    expect(selectServices(['console'], 'peregrine')).toEqual(['kafka', 'elasticsearch', 'console']);
  });
  it('runs no front end with --frontend none, even when asked for one by --only', () => {
    expect(selectServices(undefined, 'none')).toEqual(['kafka', 'elasticsearch', 'jaeger-query', 'mlflow', 'console']);
    expect(selectServices(['jaeger-collector', 'peregrine-receiver'], 'none')).toEqual(['kafka']);
    expect(selectServices(['peregrine-receiver'], 'peregrine')).toEqual(['kafka', 'peregrine-receiver']);
  });
});

describe('parseServiceNames', () => {
  it('accepts known names and rejects others naming the choices', () => {
    expect(parseServiceNames('kafka, mlflow')).toEqual(['kafka', 'mlflow']);
    expect(() => parseServiceNames('kafka,redis')).toThrow(/unknown service "redis".*kafka, elasticsearch/);
  });
});

describe('stackDir', () => {
  it('prefers PEREGRINE_STACK_DIR, then XDG_CACHE_HOME, then ~/.cache', () => {
    expect(stackDir({ PEREGRINE_STACK_DIR: '/x/y', HOME: '/h' })).toBe('/x/y');
    expect(stackDir({ XDG_CACHE_HOME: '/c', HOME: '/h' })).toBe('/c/peregrine/stack');
    expect(stackDir({ HOME: '/h' })).toBe('/h/.cache/peregrine/stack');
  });
});
