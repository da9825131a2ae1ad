/**
 * Which addon file to load for a Python. The addon is compiled against one Python minor version, so the
 * package can carry several: `prebuilds/<platform>-<arch>/py3XX/vllm_node.node` (made by `npm run prebuildify`,
 * shipped in the npm package) and the local source build `build/Release/vllm_node.node` (`npm run build:native`).
 * Each has a `vllm_node.json` next to it naming its Python minor. Order: the prebuild for the Python's minor,
 * then the local build; otherwise a clear error saying how to build one from source.
 *
 * Kept free of the addon itself so that the resolution is unit-testable (node-gyp-build is not used: it
 * prefers build/Release over prebuilds and cannot select by Python version).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { VllmError } from '../errors.js';
import { packageRoot } from './paths.js';

export interface AddonBuildInfo {
  /** Python `major.minor` the addon was compiled against. */
  python: string;
  pythonExecutable?: string;
}

export type AddonKind = 'prebuild' | 'local build';

export interface AddonCandidate {
  kind: AddonKind;
  /** The `.node` file. */
  path: string;
  /** Its `vllm_node.json`, when present and readable. */
  info?: AddonBuildInfo;
}

export type AddonResolution =
  | { found: true; kind: AddonKind; path: string; info: AddonBuildInfo; tried: AddonCandidate[] }
  | { found: false; tried: AddonCandidate[]; prebuiltFor: string[] };

export interface AddonSearch {
  root?: string;
  platform?: string;
  arch?: string;
}

/** `3.11` → `py311`. */
export function pythonTag(version: string): string {
  return `py${version.split('.').slice(0, 2).join('')}`;
}

export function prebuildsDir(root: string, platform: string = process.platform, arch: string = process.arch): string {
  return join(root, 'prebuilds', `${platform}-${arch}`);
}

function readInfo(dir: string): AddonBuildInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(join(dir, 'vllm_node.json'), 'utf8')) as AddonBuildInfo;
    return typeof info.python === 'string' ? info : undefined;
  } catch {
    return undefined;
  }
}

/** Python minors that have a prebuild for this platform (from the folder names and their metadata). */
export function listPrebuilds(root: string, platform: string = process.platform, arch: string = process.arch): string[] {
  const dir = prebuildsDir(root, platform, arch);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => /^py\d+$/.test(n) && existsSync(join(dir, n, 'vllm_node.node')))
    .map((n) => readInfo(join(dir, n))?.python)
    .filter((v): v is string => !!v)
    .sort((a, b) => Number(a.split('.')[1]) - Number(b.split('.')[1]));
}

/** Prebuild for `pythonVersion` first, then the local build; the first whose metadata names that minor wins. */
export function findAddon(pythonVersion: string, search: AddonSearch = {}): AddonResolution {
  const root = search.root ?? packageRoot();
  const dirs: [AddonKind, string][] = [
    ['prebuild', join(prebuildsDir(root, search.platform, search.arch), pythonTag(pythonVersion))],
    ['local build', join(root, 'build', 'Release')],
  ];
  const tried: AddonCandidate[] = [];
  for (const [kind, dir] of dirs) {
    const path = join(dir, 'vllm_node.node');
    if (!existsSync(path)) {
      tried.push({ kind, path });
      continue;
    }
    const info = readInfo(dir);
    tried.push(info ? { kind, path, info } : { kind, path });
    if (info?.python === pythonVersion) return { found: true, kind, path, info, tried };
  }
  return { found: false, tried, prebuiltFor: listPrebuilds(root, search.platform, search.arch) };
}

/** The command that builds the addon from source (cmake-js with CMake, else node-gyp) for `pythonExecutable`, run in the package. */
export function sourceBuildCommand(root: string, pythonExecutable: string): string {
  return `cd ${root} && VLLM_NODE_PYTHON=${pythonExecutable} npm run build:native`;
}

/** The error for a Python that has neither a prebuild nor a matching local build. */
export function addonNotFoundError(
  python: { executable: string; version: string; source: string },
  res: Extract<AddonResolution, { found: false }>,
  root: string = packageRoot(),
): VllmError {
  const local = res.tried.find((c) => c.kind === 'local build');
  const otherBuilds = [...new Set([...res.prebuiltFor, ...(local?.info ? [local.info.python] : [])])].sort();
  const prebuilt = res.prebuiltFor.length
    ? `prebuilt addons for ${process.platform}-${process.arch} cover Python ${res.prebuiltFor.join(', ')}`
    : `there is no prebuilt addon for ${process.platform}-${process.arch}`;
  const localText = local?.info
    ? `the local build (${local.path}) is for Python ${local.info.python}`
    : `there is no local build (${local?.path ?? 'build/Release/vllm_node.node'})`;
  return new VllmError(
    otherBuilds.length ? 'PYTHON_NOT_FOUND' : 'ADDON_NOT_FOUND',
    `No vllm-node addon for Python ${python.version} (${python.executable}, from ${python.source}): ${prebuilt}, and ${localText}. ` +
      `Build it from source for this Python: \`${sourceBuildCommand(root, python.executable)}\` ` +
      '(cmake-js where CMake 3.18+ is installed, else node-gyp, which comes with npm; needs a C++17 compiler, ' +
      "the Python's headers and `pip install pybind11` in that Python)" +
      (otherBuilds.length ? `, or use a Python ${otherBuilds.join(' / ')} venv (VLLM_NODE_PYTHON or the \`python\` option).` : '.'),
  );
}
