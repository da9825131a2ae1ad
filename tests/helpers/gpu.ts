import { execFileSync } from 'node:child_process';

export interface GpuMemory {
  usedMiB: number;
  totalMiB: number;
}

/** The GPU's own memory counters (nvidia-smi), per card. Empty when there is no NVIDIA GPU. */
export function gpuMemory(): GpuMemory[] {
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=memory.used,memory.total', '--format=csv,noheader,nounits'], { encoding: 'utf8' });
    return out
      .trim()
      .split('\n')
      .map((l) => {
        const [used, total] = l.split(',').map((x) => Number(x.trim())) as [number, number];
        return { usedMiB: used, totalMiB: total };
      });
  } catch {
    return [];
  }
}

export const HAS_GPU = gpuMemory().length > 0;

/** nvidia-smi's index of the card an engine of this process uses first: CUDA_VISIBLE_DEVICES' first entry (nvidia-smi
 * itself ignores that variable and lists every card). */
export const FIRST_CARD = Number.parseInt((process.env.CUDA_VISIBLE_DEVICES ?? '0').split(',')[0] ?? '0', 10) || 0;
export const GPU_MODELS = process.env.VLLM_NODE_GPU_MODELS ?? '/tmp/models';

/** GPU memory per process (nvidia-smi --query-compute-apps), MiB. */
export function gpuProcesses(): { pid: number; usedMiB: number }[] {
  try {
    const out = execFileSync('nvidia-smi', ['--query-compute-apps=pid,used_memory', '--format=csv,noheader,nounits'], { encoding: 'utf8' });
    return out
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [pid, used] = l.split(',').map((x) => Number(x.trim())) as [number, number];
        return { pid, usedMiB: used };
      });
  } catch {
    return [];
  }
}
