import { expect } from 'vitest';

import { VllmError } from '../../src/index.js';

/** The VllmError a promise rejects with (the test fails if it resolves or rejects with anything else). */
export async function rejection(p: Promise<unknown>): Promise<VllmError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(VllmError);
  return err as VllmError;
}

/** The VllmError a call throws (the test fails if it returns or throws anything else). */
export function thrown(fn: () => unknown): VllmError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(VllmError);
    return err as VllmError;
  }
  throw new Error('expected an error');
}
