/**
 * What `model` names, decided before vLLM starts: a local folder, checked here so that a typo reads
 * "no such folder" instead of vLLM's hub-id complaint ("Repo id must use alphanumeric chars"), or a Hugging Face
 * hub id, which vLLM itself resolves (its cache, or a download when online).
 *
 * A value is a folder when it looks like a path (absolute, `./`, `../`, `~`) or exists on disk; otherwise it is
 * a hub id when it has a hub id's shape (`name` or `org/name`), and a folder (one that does not exist) when not.
 */
import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

import { VllmError } from './errors.js';

const HUB_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*(\/[A-Za-z0-9][A-Za-z0-9_.-]*)?$/;
/** Files that make a folder a model vLLM can read: Hugging Face's config.json, or Mistral's params.json. */
const MODEL_CONFIG_FILES = ['config.json', 'params.json'];

export type ModelRef = { kind: 'folder'; path: string } | { kind: 'hub'; id: string };

export function looksLikePath(model: string): boolean {
  return isAbsolute(model) || model === '.' || model === '..' || /^\.\.?[/\\]/.test(model) || model === '~' || model.startsWith('~/');
}

function expandHome(model: string): string {
  return model === '~' || model.startsWith('~/') ? join(homedir(), model.slice(1)) : model;
}

/** Classifies `model` without touching the file system beyond one existence check. */
export function classifyModel(model: string): ModelRef {
  const path = expandHome(model);
  if (looksLikePath(model) || existsSync(path) || !HUB_ID.test(model)) {
    return { kind: 'folder', path };
  }
  return { kind: 'hub', id: model };
}

/**
 * The value to hand vLLM: a local folder's path (`~` expanded) once it is known to hold a model, or a hub id
 * unchanged. Throws MODEL_NOT_FOUND for a folder that does not exist or has no config.json.
 */
export function checkModel(model: string): string {
  const ref = classifyModel(model);
  if (ref.kind === 'hub') return ref.id;
  const abs = resolve(ref.path);
  const hint = 'vllm-node never downloads a model: pass the path of a local Hugging Face model folder (one with config.json)';
  let isDir: boolean;
  try {
    const st = statSync(abs);
    // A single file is vLLM's business (a GGUF checkpoint, for one).
    if (st.isFile()) return ref.path;
    isDir = st.isDirectory();
  } catch {
    throw new VllmError('MODEL_NOT_FOUND', `Model not found: no such folder: ${abs}; ${hint}`, { option: 'model' });
  }
  if (!isDir) throw new VllmError('MODEL_NOT_FOUND', `Model not found: ${abs} is not a folder; ${hint}`, { option: 'model' });
  if (!MODEL_CONFIG_FILES.some((f) => existsSync(join(abs, f)))) {
    throw new VllmError('MODEL_NOT_FOUND', `Model not found: the folder ${abs} has no config.json, so it is not a Hugging Face model folder; ${hint}`, {
      option: 'model',
    });
  }
  return ref.path;
}
