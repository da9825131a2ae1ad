// 10,000 sequential requests against the real vLLM CPU engine: the process's memory levels off after a warm-up.
// (bench/leak.mjs records the same figures in docs/benchmarks.md.)
import { afterAll, describe, expect, it } from 'vitest';

import { Engine } from '../../src/index.js';
import { cpuOptions } from '../helpers/models.js';

const MiB = 2 ** 20;
const requests = Number(process.env.LEAK_REQUESTS ?? 10_000);
const warmup = Math.min(500, Math.floor(requests / 10));
// Generous: the measured growth is a few MiB (docs/benchmarks.md); a per-request leak of even 20 KiB
// (a retained result, listener or Python object per call) would pass 200 MiB over 10,000 requests.
const MAX_GROWTH_MIB = Number(process.env.LEAK_MAX_GROWTH_MIB ?? 200);

let engine: Engine | undefined;

describe('memory over many requests', () => {
  it(
    `${requests.toLocaleString('en-US')} sequential one-token requests: RSS growth after warm-up stays under ${MAX_GROWTH_MIB} MiB`,
    async () => {
      engine = await Engine.create(cpuOptions(), { configFile: false });
      let base = 0;
      const samples: number[] = [];
      const t = Date.now();
      for (let i = 1; i <= requests; i++) {
        const text = await engine.generate('x', { maxTokens: 1, temperature: 0 });
        if (typeof text !== 'string') throw new Error(`request ${i} returned ${typeof text}`);
        if (i === warmup) base = process.memoryUsage.rss();
        if (i % 1000 === 0) samples.push(process.memoryUsage.rss());
      }
      const seconds = (Date.now() - t) / 1000;
      const end = process.memoryUsage.rss();
      const growth = (end - base) / MiB;
      console.log(
        `[leak] ${requests} requests in ${seconds.toFixed(1)} s (${(requests / seconds).toFixed(1)}/s); RSS after ${warmup}: ` +
          `${(base / MiB).toFixed(1)} MiB, at the end ${(end / MiB).toFixed(1)} MiB, growth ${growth.toFixed(1)} MiB; ` +
          `per 1,000: ${samples.map((s) => (s / MiB).toFixed(0)).join(', ')}`,
      );
      expect(engine.pendingCount).toBe(0);
      expect(growth).toBeLessThan(MAX_GROWTH_MIB);
    },
    1_200_000,
  );

  afterAll(async () => {
    await engine?.close();
  });
});
