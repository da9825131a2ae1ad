// A Node process holding an engine exits by itself when its work is done, with and without close(),
// and leaves no vLLM process behind.
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { requireModel, ROOT } from '../helpers/models.js';

function descendants(pid: number): number[] {
  const out = execFileSync('ps', ['-eo', 'pid=,ppid='], { encoding: 'utf8' });
  const children = new Map<number, number[]>();
  for (const line of out.trim().split('\n')) {
    const [p, pp] = line.trim().split(/\s+/).map(Number) as [number, number];
    children.set(pp, [...(children.get(pp) ?? []), p]);
  }
  const all: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      all.push(c);
      walk(c);
    }
  };
  walk(pid);
  return all;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function runChild(mode: 'close' | 'no-close' | 'signal' | 'no-handler', signal?: NodeJS.Signals): Promise<{ code: number | null; stdout: string; seen: number[] }> {
  const child = spawn(process.execPath, [join(ROOT, 'tests', 'helpers', 'exit-child.mjs'), requireModel(), mode], {
    stdio: ['ignore', 'pipe', 'pipe'],
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
    if (child.pid) for (const p of descendants(child.pid)) seen.add(p);
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
    const deadline = Date.now() + 20_000;
    while (seen.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
    expect(seen.filter(alive)).toEqual([]);
  });

  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    it(`on ${sig}: Node's handler runs, the process exits, no vLLM processes remain`, async () => {
      const t = Date.now();
      const { code, stdout, seen } = await runChild('signal', sig);
      expect(stdout).toContain(`HANDLER ${sig}`);
      expect(code).toBe(0);
      expect(seen.length).toBeGreaterThan(0);
      await new Promise((r) => setTimeout(r, 2000));
      expect(seen.filter(alive)).toEqual([]);
      console.log(`[exit] ${sig}: child done in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    });
  }

  for (const mode of ['close', 'no-close'] as const) {
    it(`exits cleanly (${mode}) and leaves no vLLM processes`, async () => {
      const { code, stdout, seen } = await runChild(mode);
      expect(stdout).toContain('GENERATED');
      expect(stdout).toContain('DONE');
      expect(code).toBe(0);
      expect(seen.length).toBeGreaterThan(0); // the EngineCore child did exist
      await new Promise((r) => setTimeout(r, 2000));
      expect(seen.filter(alive)).toEqual([]);
    });
  }
});
