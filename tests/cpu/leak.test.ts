// 10,000 one-token requests against the real vLLM CPU engine, 32 in flight at a time: the process's memory levels off
// after a warm-up. (bench/leak.mjs records the same figures for strictly sequential requests in docs/benchmarks.md.)
// 32 at a time rather than one: every request still goes the whole way (admission, vLLM, the result back to Node) and
// leaves whatever it would leak, and vLLM batches them, which is 5-6x quicker on a 2-core CI machine (16 at a time:
// 269 requests/s here, 32: 334/s, 64: 337/s).
import { afterAll, describe, expect, it } from 'vitest';

import { Engine } from '../../src/index.js';
import { cpuOptions } from '../helpers/models.js';

const MiB = 2 ** 20;
const requests = Number(process.env.LEAK_REQUESTS ?? 10_000);
const warmup = Math.min(500, Math.floor(requests / 10));
const IN_FLIGHT = Number(process.env.LEAK_IN_FLIGHT ?? 32);
// Generous: the measured growth is a few MiB (docs/benchmarks.md); a per-request leak of even 20 KiB
// (a retained result, listener or Python object per call) would pass 200 MiB over 10,000 requests.
const MAX_GROWTH_MIB = Number(process.env.LEAK_MAX_GROWTH_MIB ?? 200);

let engine: Engine | undefined;

describe('memory over many requests', () => {
  it(
    `${requests.toLocaleString('en-US')} one-token requests, ${IN_FLIGHT} at a time: RSS growth after warm-up stays under ${MAX_GROWTH_MIB} MiB`,
    async () => {
      engine = await Engine.create(cpuOptions(), { configFile: false });
      let base = 0;
      const samples: number[] = [];
      const t = Date.now();
      const e = engine;
      for (let done = 0; done < requests; ) {
        const n = Math.min(IN_FLIGHT, requests - done);
        const texts = await Promise.all(Array.from({ length: n }, () => e.generate('x', { maxTokens: 1, temperature: 0 })));
        for (const text of texts) if (typeof text !== 'string') throw new Error(`request ${done} returned ${typeof text}`);
        const before = done;
        done += n;
        if (before < warmup && done >= warmup) base = process.memoryUsage.rss();
        if (Math.floor(done / 1000) > Math.floor(before / 1000)) samples.push(process.memoryUsage.rss());
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
