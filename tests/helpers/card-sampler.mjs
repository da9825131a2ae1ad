// The card's memory over time: nvidia-smi in its own loop (-lms), one reading every `intervalMs`, each tagged with
// the phase under way. Shared by the GPU tests (every 200 ms) and bench/soak.mjs (every few seconds). Without
// nvidia-smi (no NVIDIA GPU) it records nothing and says so (`available`). Types: card-sampler.d.mts.
// Each sample carries nvidia-smi's own timestamp (`takenMs`) beside the time its line reached Node (`t`): the gaps
// between readings are nvidia-smi's, not those of a Node event loop busy with an engine start (the 2026-12-07 runs
// saw 686-754 ms between arrivals where nvidia-smi's own readings were at most 613 ms apart).
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';

export class CardSampler {
  samples = [];
  phase = 'before';
  available = true;
  #proc;
  #exited;

  /** @param {{ card?: number, intervalMs?: number }} [options] card: nvidia-smi's index (default 0) */
  constructor({ card = 0, intervalMs = 200 } = {}) {
    this.intervalMs = intervalMs;
    this.#proc = spawn('nvidia-smi', ['-i', String(card), '--query-gpu=timestamp,memory.used', '--format=csv,noheader,nounits', '-lms', String(intervalMs)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.#exited = new Promise((resolve) => {
      this.#proc.once('error', () => {
        this.available = false;
        resolve();
      });
      this.#proc.once('exit', resolve);
    });
    createInterface({ input: this.#proc.stdout }).on('line', (line) => {
      const sample = parseLine(line);
      if (sample) this.samples.push({ t: performance.now(), ...sample, phase: this.phase });
    });
  }

  /** The first reading (MiB); undefined when nvidia-smi cannot run. */
  async first() {
    while (this.samples.length === 0 && this.available) await new Promise((r) => setTimeout(r, 50));
    return this.samples[0]?.usedMiB;
  }

  /** The latest reading (MiB), undefined before the first. */
  last() {
    return this.samples.at(-1)?.usedMiB;
  }

  /** Waits for one more sample, so that the phase that ends is read to its end. */
  async settle() {
    const n = this.samples.length;
    while (this.samples.length <= n && this.available) await new Promise((r) => setTimeout(r, 20));
  }

  /** Resolves with the first reading at most `mib` within `timeoutMs`, or undefined when none came. */
  async until(mib, timeoutMs) {
    const end = performance.now() + timeoutMs;
    let seen = this.samples.length;
    while (performance.now() < end && this.available) {
      for (; seen < this.samples.length; seen++) if (this.samples[seen].usedMiB <= mib) return this.samples[seen];
      await new Promise((r) => setTimeout(r, 20));
    }
    return undefined;
  }

  async stop() {
    this.#proc.kill();
    await this.#exited;
  }

  peak(phase) {
    return Math.max(0, ...this.samples.filter((s) => phase === undefined || s.phase === phase).map((s) => s.usedMiB));
  }

  /** The longest time between two of nvidia-smi's readings, ms. */
  maxGapMs() {
    let gap = 0;
    for (let i = 1; i < this.samples.length; i++) gap = Math.max(gap, this.samples[i].takenMs - this.samples[i - 1].takenMs);
    return Math.round(gap);
  }
}

/** `2026/12/07 14:40:45.007, 1234` (nvidia-smi's timestamp, MiB used) → { takenMs, usedMiB }, or undefined. */
export function parseLine(line) {
  const [stamp, used] = line.split(',').map((s) => s.trim());
  const usedMiB = Number(used);
  const takenMs = Date.parse(`${stamp?.replaceAll('/', '-').replace(' ', 'T')}Z`);
  return used !== undefined && used !== '' && Number.isFinite(usedMiB) && Number.isFinite(takenMs) ? { takenMs, usedMiB } : undefined;
}
