/** Finds the Python to embed and what the addon needs to know about it. */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';

import { VllmError } from '../errors.js';
import { packageRoot } from './paths.js';

export type PythonSource = 'option' | 'VLLM_NODE_PYTHON' | 'project .venv' | 'PATH';

export interface PythonInfo {
  executable: string;
  source: PythonSource;
  version: string;
  libpython: string;
  prefix: string;
  basePrefix: string;
}

const PROBE = `
import json, os, sys, sysconfig
v = sysconfig.get_config_vars()
libdir = v.get("LIBDIR") or ""
names = [n for n in (v.get("INSTSONAME"), v.get("LDLIBRARY")) if n and ".so" in n]
lib = next((os.path.join(libdir, n) for n in names if os.path.exists(os.path.join(libdir, n))), "")
print(json.dumps({"version": "%d.%d" % sys.version_info[:2], "libpython": lib, "shared": bool(v.get("Py_ENABLE_SHARED")),
                  "prefix": sys.prefix, "basePrefix": sys.base_prefix}))
`;

const cache = new Map<string, PythonInfo>();

export function candidatePython(option: string | undefined, env: Record<string, string | undefined> = process.env): {
  executable: string;
  source: PythonSource;
} {
  if (option) return { executable: isAbsolute(option) ? option : resolve(option), source: 'option' };
  if (env.VLLM_NODE_PYTHON) return { executable: resolve(env.VLLM_NODE_PYTHON), source: 'VLLM_NODE_PYTHON' };
  const venv = join(packageRoot(), '.venv', 'bin', 'python');
  if (existsSync(venv)) return { executable: venv, source: 'project .venv' };
  return { executable: 'python3', source: 'PATH' };
}

export function resolvePython(option?: string, env: Record<string, string | undefined> = process.env): PythonInfo {
  const { executable, source } = candidatePython(option, env);
  const cached = cache.get(executable);
  if (cached) return cached;
  let raw: string;
  try {
    raw = execFileSync(executable, ['-c', PROBE], { encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    throw new VllmError(
      'PYTHON_NOT_FOUND',
      `Cannot run Python ${executable} (chosen from ${source}): ${(err as Error).message.split('\n')[0]}. ` +
        'Run scripts/setup-python.sh, or point the `python` option / VLLM_NODE_PYTHON at a venv with vLLM.',
      { cause: err },
    );
  }
  const probe = JSON.parse(raw) as { version: string; libpython: string; shared: boolean; prefix: string; basePrefix: string };
  if (!probe.libpython) {
    throw new VllmError(
      'PYTHON_NOT_FOUND',
      `Python ${executable} (${probe.version}, from ${source}) has no shared libpython (built without --enable-shared), so it cannot be embedded`,
    );
  }
  // Resolve `python3` on PATH to an absolute path: the interpreter needs it as sys.executable.
  const absolute = isAbsolute(executable)
    ? executable
    : execFileSync(executable, ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
  const info: PythonInfo = { executable: absolute, source, version: probe.version, libpython: probe.libpython, prefix: probe.prefix, basePrefix: probe.basePrefix };
  cache.set(executable, info);
  return info;
}
