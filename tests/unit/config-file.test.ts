import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { resolveEngineOptions } from '../../src/index.js';
import { ROOT } from '../helpers/models.js';

describe('config/inference.yaml shipped with the project', () => {
  it("holds the seed's configuration and validates", () => {
    const o = resolveEngineOptions({ model: '/m' }, { configFile: join(ROOT, 'config', 'inference.yaml'), env: {} });
    expect(o).toMatchObject({ quantization: 'fp8', kvCacheDtype: 'fp8', swapSpace: 4, gpuMemoryUtilization: 0.9, trustRemoteCode: true });
    expect(o.sampling).toEqual({ temperature: 0.1, maxTokens: 500, topP: 0.9, frequencyPenalty: 0.1 });
  });
});
