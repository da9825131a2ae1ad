// Native state per Node environment: an engine made in a worker_threads Worker belongs to that Worker. When the
// Worker ends, its engine closes and the main thread's engine (the run's shared engine) keeps serving.
import { once } from 'node:events';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

import { describe, expect, it } from 'vitest';

import { cpuOptions, ROOT } from '../helpers/models.js';
import { cpuEngine } from '../helpers/shared-engine.js';

const greedy = { maxTokens: 4, temperature: 0, ignoreEos: true };

// Runs in the Worker: its own engine, one request, then the Worker's script ends with the engine still open
// (an idle engine does not keep the event loop alive), so the Worker exits and tears its environment down.
const workerScript = `
  const { parentPort, workerData } = require('node:worker_threads');
  import(workerData.dist).then(async ({ Engine }) => {
    const engine = await Engine.create(workerData.options, { configFile: false });
    const r = await engine.generateDetailed('Job: Data Analyst', workerData.greedy);
    parentPort.postMessage({ outputTokens: r.outputTokens });
  });
`;

describe('engines in worker_threads', () => {
  it("a Worker's engine closes with the Worker; the main thread's engine keeps serving", async () => {
    const main = await cpuEngine();
    const before = await main.generateDetailed('Job: Nurse', greedy);
    const worker = new Worker(workerScript, {
      eval: true,
      workerData: { dist: join(ROOT, 'dist', 'index.js'), options: cpuOptions(), greedy },
    });
    const exited = once(worker, 'exit');
    exited.catch(() => undefined); // an 'error' fails the test through the 'message' wait below
    const [message] = (await once(worker, 'message')) as [{ outputTokens: number }];
    expect(message.outputTokens).toBe(4);
    const [code] = (await exited) as [number];
    expect(code).toBe(0);
    const after = await main.generateDetailed('Job: Nurse', greedy);
    expect(after.outputTokens).toBe(4);
    expect(after.text).toBe(before.text);
  });
});
