// Which addon file the loader picks: prebuild for the Python minor, then the local build, else a clear error.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { addonNotFoundError, findAddon, listPrebuilds, pythonTag } from '../../src/native/addon.js';

let root: string;
const search = () => ({ root, platform: 'linux', arch: 'x64' });
const python = (version: string) => ({ executable: `/venv${version}/bin/python`, version, source: 'VLLM_NODE_PYTHON' });

function addon(dir: string, meta: unknown = undefined) {
  mkdirSync(join(root, dir), { recursive: true });
  writeFileSync(join(root, dir, 'vllm_node.node'), '');
  if (meta !== undefined) writeFileSync(join(root, dir, 'vllm_node.json'), typeof meta === 'string' ? meta : JSON.stringify(meta));
}
const prebuild = (v: string) => addon(`prebuilds/linux-x64/${pythonTag(v)}`, { python: v, napi: 8 });
const localBuild = (v: string) => addon('build/Release', { python: v, pythonExecutable: '/x/bin/python' });

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'vllm-node-addon-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('findAddon', () => {
  it('tags Python minors as py3XX', () => {
    expect(pythonTag('3.11')).toBe('py311');
    expect(pythonTag('3.9')).toBe('py39');
    expect(pythonTag('3.12.4')).toBe('py312');
  });

  it('prefers the prebuild for the Python minor over a matching local build', () => {
    prebuild('3.11');
    localBuild('3.11');
    const r = findAddon('3.11', search());
    expect(r).toMatchObject({ found: true, kind: 'prebuild', path: join(root, 'prebuilds/linux-x64/py311/vllm_node.node'), info: { python: '3.11' } });
  });

  it('falls back to the local build when no prebuild matches the minor', () => {
    prebuild('3.12');
    localBuild('3.11');
    expect(findAddon('3.11', search())).toMatchObject({ found: true, kind: 'local build', path: join(root, 'build/Release/vllm_node.node') });
  });

  it('takes the prebuild of the right platform only', () => {
    prebuild('3.11');
    expect(findAddon('3.11', { root, platform: 'linux', arch: 'arm64' }).found).toBe(false);
    expect(findAddon('3.11', { root, platform: 'darwin', arch: 'x64' }).found).toBe(false);
  });

  it('ignores a file whose metadata is missing, corrupt or names another minor', () => {
    addon('prebuilds/linux-x64/py311'); // no vllm_node.json
    addon('build/Release', '{not json');
    expect(findAddon('3.11', search()).found).toBe(false);
    rmSync(join(root, 'prebuilds'), { recursive: true });
    addon('prebuilds/linux-x64/py311', { python: '3.12' }); // mislabelled folder
    expect(findAddon('3.11', search()).found).toBe(false);
  });

  it('lists the shipped prebuilds in minor order', () => {
    prebuild('3.12');
    prebuild('3.10');
    prebuild('3.11');
    mkdirSync(join(root, 'prebuilds/linux-x64/py313')); // empty folder: not a prebuild
    expect(listPrebuilds(root, 'linux', 'x64')).toEqual(['3.10', '3.11', '3.12']);
  });
});

describe('addonNotFoundError', () => {
  it('nothing at all: ADDON_NOT_FOUND with the source build command for that Python', () => {
    const r = findAddon('3.13', search());
    if (r.found) throw new Error('unexpected');
    expect(r.tried.map((c) => c.kind)).toEqual(['prebuild', 'local build']);
    const err = addonNotFoundError(python('3.13'), r, root);
    expect(err.code).toBe('ADDON_NOT_FOUND');
    expect(err.message).toContain('No vllm-node addon for Python 3.13 (/venv3.13/bin/python, from VLLM_NODE_PYTHON)');
    expect(err.message).toContain('there is no prebuilt addon for');
    expect(err.message).toContain(`cd ${root} && VLLM_NODE_PYTHON=/venv3.13/bin/python npm run build:native`);
    expect(err.message).toContain('cmake-js');
  });

  it('builds for other minors: PYTHON_NOT_FOUND naming them, the source build and the Pythons that would work', () => {
    prebuild('3.11');
    prebuild('3.12');
    localBuild('3.10');
    const r = findAddon('3.13', search());
    if (r.found) throw new Error('unexpected');
    const err = addonNotFoundError(python('3.13'), r, root);
    expect(err.code).toBe('PYTHON_NOT_FOUND');
    expect(err.message).toMatch(/cover Python 3\.11, 3\.12/);
    expect(err.message).toContain('is for Python 3.10');
    expect(err.message).toContain('npm run build:native');
    expect(err.message).toContain('use a Python 3.10 / 3.11 / 3.12 venv');
  });
});
