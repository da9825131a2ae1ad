export interface CardSample {
  /** performance.now() when the line arrived. */
  t: number;
  /** nvidia-smi's own timestamp of the reading, ms (read as UTC: use it for differences only). */
  takenMs: number;
  usedMiB: number;
  phase: string;
}
/** nvidia-smi in its own loop: one reading of the card every `intervalMs`, tagged with the phase under way. */
export class CardSampler {
  readonly samples: CardSample[];
  phase: string;
  /** False once nvidia-smi could not be started (no NVIDIA GPU). */
  available: boolean;
  readonly intervalMs: number;
  constructor(options?: { card?: number; intervalMs?: number });
  /** The first reading (MiB); undefined when nvidia-smi cannot run. */
  first(): Promise<number | undefined>;
  /** The latest reading (MiB), undefined before the first. */
  last(): number | undefined;
  /** Waits for one more sample, so that the phase that ends is read to its end. */
  settle(): Promise<void>;
  /** The first reading at most `mib` within `timeoutMs` (only readings taken from now on), or undefined. */
  until(mib: number, timeoutMs: number): Promise<CardSample | undefined>;
  stop(): Promise<void>;
  /** The highest reading of a phase (all phases when omitted), MiB; 0 when none. */
  peak(phase?: string): number;
  /** The longest time between two of nvidia-smi's readings, ms. */
  maxGapMs(): number;
}
/** One line of `nvidia-smi --query-gpu=timestamp,memory.used --format=csv,noheader,nounits`, or undefined. */
export function parseLine(line: string): { takenMs: number; usedMiB: number } | undefined;
