// A Node process holding an engine exits by itself when its work is done, with and without close(),
// and leaves no vLLM process behind.
import { spawn } from 'node:child_process';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { requireModel, ROOT } from '../helpers/models.js';
import { alive, descendants, explain } from '../helpers/processes.mjs';

/**
 * Waits for every process seen under the child to end. Python's multiprocessing resource tracker outlives
 * its parent by design: it exits when it reads EOF from the parent's pipe, then cleans up, which took
 * 1.5 s here and more on a loaded CI machine, so the bound is generous; the time is logged. The EngineCore
 * and its workers die by the parent-death signal (SIGKILL, see python/vllm_node/child_main.py).
 */
async function remaining(seen: number[], label: string): Promise<string[]> {
  const t = Date.now();
  while (seen.some(alive) && Date.now() - t < 60_000) await new Promise((r) => setTimeout(r, 250));
  const left = seen.filter(alive);
  console.log(`[exit] ${label}: descendants gone ${((Date.now() - t) / 1000).toFixed(1)} s after the child exited`);
  // The assertion names each process left and what it is doing, so a failure says which and why.
  return left.map(explain);
}

async function runChild(mode: 'close' | 'no-close' | 'signal' | 'no-handler', signal?: NodeJS.Signals, env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; seen: number[] }> {
  const child = spawn(process.execPath, [join(ROOT, 'tests', 'helpers', 'exit-child.mjs'), requireModel(), mode], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stdout = '';
  const seen = new Set<number>();
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (signal && stdout.includes('DONE') && !stdout.includes('SENT')) {
      stdout += 'SENT\n';
      setTimeout(() => child.kill(signal), 200);
    }
  });
  child.stderr.on('data', () => {});
  const poll = setInterval(() => {
    if (child.pid) void descendants(child.pid).then((ps) => ps.forEach((p) => seen.add(p.pid)));
  }, 500);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  clearInterval(poll);
  return { code, stdout, seen: [...seen] };
}

describe('process exit', () => {
  it('killed with SIGKILL (no cleanup at all): the EngineCore follows, no vLLM processes remain', async () => {
    const { stdout, seen } = await runChild('no-handler', 'SIGKILL');
    expect(stdout).toContain('DONE');
    expect(seen.length).toBeGreaterThan(0);
    expect(await remaining(seen, 'SIGKILL')).toEqual([]);
  });

  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    it(`on ${sig}: Node's handler runs, the process exits, no vLLM processes remain`, async () => {
      const t = Date.now();
      const { code, stdout, seen } = await runChild('signal', sig);
      expect(stdout).toContain(`HANDLER ${sig}`);
      expect(code).toBe(0);
      expect(seen.length).toBeGreaterThan(0);
      expect(await remaining(seen, sig)).toEqual([]);
      console.log(`[exit] ${sig}: child done in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    });
  }

  for (const mode of ['close', 'no-close'] as const) {
    it(`exits cleanly (${mode}) and leaves no vLLM processes`, async () => {
      // 'close' also runs with a user's VLLM_WORKER_MULTIPROC_METHOD=fork: Node's process is still never forked, and
      // the engine's notes say the setting was replaced.
      const env: Record<string, string> = mode === 'close' ? { VLLM_WORKER_MULTIPROC_METHOD: 'fork' } : {};
      const { code, stdout, seen } = await runChild(mode, undefined, env);
      if (mode === 'close') {
        const info = JSON.parse(/^INFO (.*)$/m.exec(stdout)![1]!) as { notes: { option: string; applied: boolean; value: unknown }[] };
        expect(info.notes).toContainEqual(expect.objectContaining({ option: 'VLLM_WORKER_MULTIPROC_METHOD', applied: false, value: 'fork' }));
      }
      expect(stdout).toContain('GENERATED');
      expect(stdout).toContain('DONE');
      expect(code).toBe(0);
      expect(seen.length).toBeGreaterThan(0); // the EngineCore child did exist
      expect(await remaining(seen, mode)).toEqual([]);
    });
  }
});
