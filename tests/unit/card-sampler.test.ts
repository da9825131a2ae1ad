// The GPU tests' card sampler reads nvidia-smi's own timestamp with each reading, so that the gaps it reports are
// nvidia-smi's and not those of a busy Node event loop.
import { describe, expect, it } from 'vitest';

import { parseLine } from '../helpers/card-sampler.mjs';

describe('card sampler lines', () => {
  it('reads the timestamp and the MiB used', () => {
    const a = parseLine('2026/12/07 14:40:45.007, 1234')!;
    const b = parseLine('2026/12/07 14:40:45.257, 0')!;
    expect(a.usedMiB).toBe(1234);
    expect(b.usedMiB).toBe(0);
    expect(b.takenMs - a.takenMs).toBe(250);
  });

  it('skips what is not a reading', () => {
    expect(parseLine('')).toBeUndefined();
    expect(parseLine('[N/A], [N/A]')).toBeUndefined();
    expect(parseLine('2026/12/07 14:40:45.007')).toBeUndefined();
  });
});
