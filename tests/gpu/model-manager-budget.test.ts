// Issue 24 on a CUDA GPU: the seed's 16 GB laptop run as one ModelManager. The 4B, the 8B and the 32B-fp8 shape with
// weight offload in one catalog under gpuMemoryGiB 14.4 (90% of 16 GB), switching cold and warm in both directions,
// a 64-request load on each model after each switch; nvidia-smi samples the card this test runs on every 200 ms
// across the whole run (loading included), and EVERY sample, less what the card held before, must be within the cap.
// Prints the peak per phase, the switch times and what each model holds. Skipped without a GPU.
//   VLLM_NODE_GPU_MODELS=/tmp/models npx vitest run --project gpu tests/gpu/model-manager-budget.test.ts
// Models (scripts/gpu-host/build-models.py): qwen3-4b, qwen3-8b (random-weight checkpoints), qwen3-32b-fp8 (config
// only: load_format dummy). GPU_TEST_EAGER=0 compiles (default eager: a fresh host's compiles take minutes per model);
// GPU_TEST_32B_OFFLOAD_GIB (default 28) sets the 32B's cpu_offload_gb, GPU_TEST_32B_ENGINE_ARGS (JSON) adds others.
// GPU_TEST_BUDGET_UTIL=0.9 runs the same catalog under gpuMemoryUtilization 0.9 of the whole card instead (the issue's
// second run; with GPU_TEST_32B_OFFLOAD_GIB=0 on a card where the 32B fits).
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { describe, expect, it } from 'vitest';

import { ModelManager } from '../../src/index.js';
import { CardSampler } from '../helpers/card-sampler.mjs';
import { FIRST_CARD, GPU_MODELS, gpuMemory, HAS_GPU } from '../helpers/gpu.js';

const CAP_GIB = 14.4;
const UTIL = process.env.GPU_TEST_BUDGET_UTIL ? Number(process.env.GPU_TEST_BUDGET_UTIL) : undefined;
// 14,746 MiB (14,745.6) for the seed's card: the issue's target for every sample; or the fraction of this card.
const CAP_MIB = UTIL === undefined ? Math.round(CAP_GIB * 1024) : Math.floor(UTIL * (gpuMemory()[FIRST_CARD]?.totalMiB ?? 0));
const BUDGET = UTIL === undefined ? { gpuMemoryGiB: CAP_GIB } : { gpuMemoryUtilization: UTIL };
const SAMPLE_MS = 200;
const OFFLOAD_GIB = Number(process.env.GPU_TEST_32B_OFFLOAD_GIB ?? 28);
// More engine arguments for the 32B (JSON), e.g. '{"enable_flashinfer_autotune": false}': where its cold start goes
// (docs/benchmarks.md, 2026-12-07 14:40: vLLM's warm-ups each read the offloaded weights across PCIe).
const EXTRA_32B: Record<string, unknown> = JSON.parse(process.env.GPU_TEST_32B_ENGINE_ARGS ?? '{}');

// Cold and warm switches in both directions (after the first start of the 4B). The manager decides which are
// wake-ups: a model sized beside other sleepers than now is started again (`resizedFromMiB`), and where it cannot run
// in what they leave, the least recently used sleepers are closed (`evicted`). The 32B comes first, so that its cold
// start beside a sleeper, its warm switch and a start beside two sleepers come before anything a short GPU window
// cuts. Measured on an H100 with vLLM 0.33 (docs/benchmarks.md, 2026-12-07 14:40): →32B cold (145-383 s), →4B started
// again beside it, →32B warm (0.22 s at 14.4 GiB, 1.19 s at 0.9), →8B cold beside both, →4B started again beside both,
// →8B warm, →4B warm; 5.5 min at 14.4 GiB on warm caches, 8 min at 0.9 on a fresh host, eager. GPU_TEST_ORDER=8b,4b,...
// sets another order.
const ORDER = (process.env.GPU_TEST_ORDER ?? '32b,4b,32b,8b,4b,8b,4b').split(',');

describe.skipIf(!HAS_GPU)(`ModelManager under one memory budget for the card (${JSON.stringify(BUDGET)})`, () => {
  it('4B, 8B and 32B-fp8 with offload in one catalog: cold and warm switches both ways, every sample within the cap', async () => {
    const sampler = new CardSampler({ card: FIRST_CARD, intervalMs: SAMPLE_MS });
    const baseline = (await sampler.first())!;
    const rows: string[] = [];
    const log = (line: string) => {
      rows.push(line);
      console.log(line);
    };
    const load = async (model: string) => {
      const t = performance.now();
      // The 32B streams its offloaded weights over PCIe at every step: fewer tokens.
      const maxTokens = model === '32b' ? 16 : 64;
      const rs = await Promise.all(Array.from({ length: 64 }, (_, i) => models.generateDetailed(`Request ${i}: describe a job posting for a data engineer.`, { model, maxTokens, temperature: 0, ignoreEos: true })));
      const sec = (performance.now() - t) / 1000;
      return `64 × ${maxTokens} tokens in ${sec.toFixed(2)} s (${(rs.reduce((n, r) => n + r.outputTokens, 0) / sec).toFixed(0)} tok/s)`;
    };
    const phase = async (name: string, work: () => Promise<string>) => {
      sampler.phase = name;
      const text = await work();
      await sampler.settle();
      log(`| ${name} | ${text} | ${(sampler.peak(name) - baseline).toLocaleString('en-US')} |`);
    };
    log(`card ${FIRST_CARD}: ${baseline} MiB used before the manager; budget ${JSON.stringify(BUDGET)} = ${CAP_MIB} MiB over it; nvidia-smi every ${SAMPLE_MS} ms`);
    log('| phase | what happened | peak over the baseline (MiB) |');
    log('| --- | --- | --- |');

    let models!: ModelManager;
    const reference: Record<string, string> = {};
    try {
      await phase('first start 4b', async () => {
        const t = performance.now();
        models = await ModelManager.create(
          {
            quantization: 'fp8',
            kvCacheDtype: 'fp8',
            swapSpace: 4,
            trustRemoteCode: true,
            maxModelLen: 4096,
            ...BUDGET,
            enforceEager: process.env.GPU_TEST_EAGER !== '0',
            models: {
              '4b': { model: join(GPU_MODELS, 'qwen3-4b') },
              '8b': { model: join(GPU_MODELS, 'qwen3-8b') },
              // An fp8 checkpoint (vLLM cannot offload weights it quantizes online), random weights made by vLLM.
              '32b': { model: join(GPU_MODELS, 'qwen3-32b-fp8'), engineArgs: { load_format: 'dummy', cpu_offload_gb: OFFLOAD_GIB, ...EXTRA_32B } },
            },
            default: '4b',
          },
          { configFile: false },
        );
        return `${((performance.now() - t) / 1000).toFixed(1)} s; cap ${models.lastSwitch!.capMiB} MiB`;
      });
      await phase('load 4b', () => load('4b'));
      reference['4b'] = await models.generate('Title of: Go Engineer', { maxTokens: 8, temperature: 0 });

      for (const name of ORDER) {
        const from = models.current!;
        const label = `${from} → ${name}`;
        await phase(label, async () => {
          const t = performance.now();
          await models.use(name);
          const ls = models.lastSwitch!;
          const how = ls.resizedFromMiB ? `started again (its cap ${ls.resizedFromMiB} MiB did not fit beside the sleepers)` : ls.kind === 'warm' ? 'woken' : 'started';
          return (
            `**${ls.kind}** ${((performance.now() - t) / 1000).toFixed(2)} s: ${from} ${ls.left} in ${ls.leaveSeconds} s, ${name} ${how} in ${ls.enterSeconds} s; ` +
            `cap ${ls.capMiB} MiB${ls.evicted ? `; closed ${ls.evicted.join(', ')}` : ''}; ${JSON.stringify(models.states)}`
          );
        });
        await phase(`load ${name}`, () => load(name));
        const answer = await models.generate('Title of: Go Engineer', { model: name, maxTokens: 8, temperature: 0 });
        // A model woken answers as before its sleep.
        if (models.lastSwitch!.kind === 'warm' && reference[name] !== undefined) expect(answer).toBe(reference[name]);
        reference[name] = answer;
        const memory = await models.memory();
        log(`|  | memory: ${Object.entries(memory.models).map(([n, m]) => `${n} ${m.state} card ${m.cardMiB ?? '-'} MiB, cap ${m.capMiB ?? '-'}, pinned CPU ${m.pinnedCpuMiB}, offload ${m.offloadCpuMiB}`).join('; ')}; reserved ${memory.card.reservedMiB} of ${memory.card.capMiB} MiB |  |`);
        expect(memory.card.reservedMiB!).toBeLessThanOrEqual(memory.card.capMiB!);
      }
    } finally {
      sampler.phase = 'close';
      await models?.close();
      await sampler.settle();
      await sampler.stop();
    }

    const over = sampler.samples.filter((s) => s.usedMiB - baseline > CAP_MIB);
    log(`samples: ${sampler.samples.length}, the longest gap between two ${sampler.maxGapMs()} ms; peak over the baseline ${(Math.max(...sampler.samples.map((s) => s.usedMiB)) - baseline).toLocaleString('en-US')} MiB; over the cap: ${over.length}`);
    for (const s of over.slice(0, 20)) log(`  over: ${s.usedMiB - baseline} MiB in "${s.phase}"`);
    // Every sample: the cap holds for the whole card, every instant, loading included.
    expect(over).toEqual([]);
    // The sampler kept going: nvidia-smi's own readings never more than 2 s apart (every 250 ms but for a handful
    // of 0.3-0.6 s gaps in the 2026-12-07 window; Node's arrival times, checked before, spread to 754 ms while an
    // engine started).
    expect(sampler.maxGapMs()).toBeLessThanOrEqual(2000);
    expect(gpuMemory()[FIRST_CARD]!.usedMiB - baseline).toBeLessThan(512);
  }, 1_800_000);
});
