// Type level: tests/types/ai-sdk-usage.ts compiled against each `ai` major with that major's own
// @ai-sdk/provider and provider-utils types, as a user's project resolves them (ai@6 brings provider 3,
// ai@7 provider 4). Nothing here starts an engine.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { describe, expect, it } from 'vitest';

import { ROOT } from '../helpers/models.js';

const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

describe.each(['ai6', 'ai7'])('the AI SDK provider under %s', (major) => {
  it('type-checks as that major’s LanguageModel and ProviderV3', async () => {
    const project = join(ROOT, 'tests', 'types', `tsconfig.${major}.json`);
    const out = await promisify(execFile)(process.execPath, [tsc, '-p', project, '--listFiles'], { cwd: ROOT }).catch((e: { stdout: string }) => {
      throw new Error(`tsc -p ${project} failed:\n${e.stdout}`);
    });
    // The files tsc read prove which major it checked against.
    const provider = major === 'ai6' ? 'node_modules/ai6/node_modules/@ai-sdk/provider/' : 'node_modules/@ai-sdk/provider/';
    expect(out.stdout).toContain(provider);
  }, 120_000);
});
