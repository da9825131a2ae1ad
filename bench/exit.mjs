// Repeats "Node is SIGKILLed with an engine loaded" N times (default 50): every process vLLM started must end.
// Per run: a Node child creates an engine (tests/helpers/exit-child.mjs), generates, and is SIGKILLed; the
// script then waits for each process seen under it to end and reports leftovers (with what they wait in) and
// the time from the kill to the last one gone. BENCH_GPU=1 uses the default (GPU) configuration and also
// reads the card's used memory after each run.
//   node bench/exit.mjs [runs] [model]
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';

import { alive, descendants, explain } from '../tests/helpers/processes.mjs';
import { percentile, record, ROOT } from './common.mjs';

const runs = Number(process.argv[2] ?? 50);
const model = process.argv[3] ?? join(ROOT, '.models', 'tiny-qwen3');
const env = { ...process.env };
if (process.env.BENCH_GPU) env.EXIT_CHILD_OPTIONS = JSON.stringify({});

function gpuUsedMiB() {
  try {
    return execFileSync('nvidia-smi', ['--query-gpu=memory.used', '--format=csv,noheader,nounits'], { encoding: 'utf8' })
      .trim().split('\n').map(Number);
  } catch {
    return null;
  }
}

async function once() {
  const child = spawn(process.execPath, [join(ROOT, 'tests', 'helpers', 'exit-child.mjs'), model, 'no-handler'], {
    stdio: ['ignore', 'pipe', 'ignore'],
    env,
  });
  let out = '';
  let info;
  await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('DONE')) resolve();
    });
    child.on('exit', (c) => reject(new Error(`child exited (${c}) before DONE: ${out}`)));
  });
  info = JSON.parse(out.split('\n').find((l) => l.startsWith('INFO ')).slice(5));
  const seen = (await descendants(child.pid)).map((p) => p.pid);
  const gpuLoaded = gpuUsedMiB();
  const killed = Date.now();
  child.kill('SIGKILL');
  while (seen.some(alive) && Date.now() - killed < 30_000) await new Promise((r) => setTimeout(r, 50));
  const goneS = (Date.now() - killed) / 1000;
  const left = seen.filter(alive).map(explain);
  for (const p of seen.filter(alive)) {
    try {
      process.kill(p, 'SIGKILL'); // so the next run starts clean
    } catch {}
  }
  return { info, goneS, left, processes: seen.length, gpuLoaded, gpuAfter: gpuUsedMiB() };
}

const results = [];
for (let i = 0; i < runs; i++) {
  const r = await once();
  results.push(r);
  console.log(`run ${i + 1}/${runs}: ${r.processes} processes, gone in ${r.goneS.toFixed(2)} s, left ${r.left.length}` +
    (r.gpuAfter ? `, GPU MiB loaded ${r.gpuLoaded} → after ${r.gpuAfter}` : '') + (r.left.length ? `\n  ${r.left.join('\n  ')}` : ''));
}
const times = results.map((r) => r.goneS);
const leftovers = results.reduce((n, r) => n + r.left.length, 0);
record('Node SIGKILLed with an engine loaded (bench/exit.mjs)', results[0].info, [
  `runs: ${runs}; processes per run (EngineCore, workers, resource tracker, …): ${results[0].processes}`,
  `leftover processes: ${leftovers} in ${results.filter((r) => r.left.length).length} runs`,
  `time from SIGKILL to the last process gone: p50 ${percentile(times, 50).toFixed(2)} s, max ${Math.max(...times).toFixed(2)} s`,
  ...(results[0].gpuAfter
    ? [`GPU used MiB with the engine loaded → after: ${results.map((r) => `${r.gpuLoaded} → ${r.gpuAfter}`).join(', ')}`]
    : []),
]);
process.exit(leftovers ? 1 : 0);
