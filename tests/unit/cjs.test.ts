// CommonJS users: `require('vllm-node')` and its subpaths through the package's `exports` (a `require`
// condition; Node >= 20.19 loads the ES modules). The package is compiled into a scratch copy (package.json +
// dist + a link to node_modules) so the test sees exactly what `exports` points at, without touching dist/.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ROOT } from '../helpers/models.js';

const run = promisify(execFile);
let pkg: string;

beforeAll(async () => {
  pkg = mkdtempSync(join(tmpdir(), 'vllm-node-cjs-'));
  copyFileSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'));
  await run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(pkg, 'dist')], { cwd: ROOT });
}, 180_000);
afterAll(() => {
  if (pkg) rmSync(pkg, { recursive: true, force: true });
});

describe('CommonJS', () => {
  it('require() gives the main entry and both integration subpaths', async () => {
    const script = `
      const main = require('vllm-node');
      const aiSdk = require('vllm-node/ai-sdk');
      const langchain = require('vllm-node/langchain');
      console.log(JSON.stringify({
        main: [typeof main.Engine, typeof main.VllmError, typeof main.Router],
        aiSdk: [typeof aiSdk.createVllm, aiSdk.createVllm({}).languageModel('x').specificationVersion],
        langchain: [typeof langchain.ChatVllm, new langchain.ChatVllm({ engine: {} })._llmType()],
        resolved: require.resolve('vllm-node/ai-sdk').slice(${JSON.stringify(pkg.length)}),
      }));`;
    const { stdout, stderr } = await run(process.execPath, ['-e', script], { cwd: pkg });
    expect(JSON.parse(stdout)).toEqual({
      main: ['function', 'function', 'function'],
      aiSdk: ['function', 'v3'],
      langchain: ['function', 'vllm-node'],
      resolved: '/dist/ai-sdk/index.js',
    });
    expect(stderr).not.toMatch(/ExperimentalWarning|Error/);
  }, 60_000);
});
