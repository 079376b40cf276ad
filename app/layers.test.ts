import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { layerProblems, readSources } from './layers.ts';

const repo = path.resolve(import.meta.dirname, '..');

describe('import layers', () => {
  it('this checkout keeps them: core imports nothing above it, no folder cycles, detectors use models/index.ts', () => {
    expect(layerProblems(readSources(repo))).toEqual([]);
  });

  it('finds core importing a stage, a cycle through three folders, and detectors reaching into models', () => {
    const files = new Map([
      ['core/runtime.ts', "import { startFeatures } from '../features/stage.ts';"],
      ['features/stage.ts', "import { x } from '../detectors/a.ts';"],
      ['detectors/a.ts', "import { WindowModel } from '../models/window/model.ts';\nimport { y } from '../models/index.ts';"],
      ['models/index.ts', "export { z } from '../features/z.ts';"],
      ['features/stage.test.ts', "import { anything } from '../demo/run.ts';"],
    ]);
    expect(layerProblems(files)).toEqual([
      'core imports features: core/runtime.ts -> ../features/stage.ts',
      'detectors reaches into models: detectors/a.ts -> ../models/window/model.ts',
      'cycle between folders: detectors, features, models',
    ]);
  });
});
