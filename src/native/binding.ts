/**
 * The only module that touches the native addon. Everything it exports is typed; the addon's surface is
 * three things: initPython, pythonVersion and NativeEngine.
 */
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { join } from 'node:path';

import { VllmError } from '../errors.js';
import { addonNotFoundError, findAddon } from './addon.js';
import { packageRoot } from './paths.js';
import type { PythonInfo } from './python.js';

export interface NativeEngine {
  /** Queue commands for the engine thread: one JSON object, or several joined by commas (one JS tick's worth). */
  post(commandJson: string): void;
  /** Ask the engine thread to shut vLLM down; a final `closed` event follows. */
  close(): void;
  ref(): void;
  unref(): void;
}

export interface NativeBinding {
  pythonVersion: string;
  initPython(settings: { executable: string; sysPath: string[] }): void;
  NativeEngine: new (optionsJson: string, onEvents: (eventsJson: string) => void) => NativeEngine;
}

const require = createRequire(import.meta.url);
let loaded: { binding: NativeBinding; python: PythonInfo } | undefined;

export function loadBinding(python: PythonInfo): NativeBinding {
  if (loaded) {
    if (loaded.python.executable !== python.executable) {
      throw new VllmError(
        'PYTHON_NOT_FOUND',
        `This process already embeds ${loaded.python.executable}; one process holds one Python, so ${python.executable} cannot be used too`,
      );
    }
    return loaded.binding;
  }
  const addon = findAddon(python.version);
  if (!addon.found) throw addonNotFoundError(python, addon);
  // Extension modules (torch, numpy, vLLM's _C) expect libpython's symbols to be global, and the addon
  // itself does not link libpython: load it RTLD_GLOBAL first. process.dlopen then complains that it is not
  // a Node module, which is expected, and dlcloses it: RTLD_NODELETE (glibc's value; os.constants lacks it)
  // keeps it loaded.
  const RTLD_NODELETE = 0x1000;
  try {
    process.dlopen({ exports: {} } as NodeJS.Module, python.libpython, constants.dlopen.RTLD_NOW | constants.dlopen.RTLD_GLOBAL | RTLD_NODELETE);
  } catch (err) {
    if (!/self-register|register/i.test((err as Error).message)) {
      throw new VllmError('PYTHON_NOT_FOUND', `Cannot load ${python.libpython}: ${(err as Error).message}`, { cause: err });
    }
  }
  let binding: NativeBinding;
  try {
    binding = require(addon.path) as NativeBinding;
  } catch (err) {
    throw new VllmError('ADDON_NOT_FOUND', `Cannot load the addon ${addon.path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    binding.initPython({ executable: python.executable, sysPath: [join(packageRoot(), 'python')] });
  } catch (err) {
    throw new VllmError('PYTHON_INIT_FAILED', `Starting Python ${python.executable} failed: ${(err as Error).message}`, { cause: err });
  }
  loaded = { binding, python };
  return binding;
}
