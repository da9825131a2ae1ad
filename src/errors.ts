/** Stable error codes: callers branch on `error.code`, never on messages. */
export const ERROR_CODES = [
  'INVALID_OPTIONS',
  'CONFIG_FILE_INVALID',
  'PYTHON_NOT_FOUND',
  'PYTHON_INIT_FAILED',
  'ADDON_NOT_FOUND',
  'UNSUPPORTED_SETTING',
  'UNSUPPORTED_OPERATION',
  'VLLM_VERSION_UNSUPPORTED',
  'INSUFFICIENT_GPU_MEMORY',
  'UNKNOWN_MODEL',
  'MODEL_NOT_FOUND',
  'MODEL_LOAD_FAILED',
  'ENGINE_CLOSED',
  'ENGINE_DIED',
  'ENGINE_BUSY',
  'REQUEST_ABORTED',
  'REQUEST_FAILED',
  'INVALID_REQUEST',
  'PROMPT_TOO_LONG',
  'CHAT_TEMPLATE_MISSING',
  'OUTPUT_INVALID',
  'REMOTE_ERROR',
  'PYTHON_ERROR',
  'CALL_FAILED',
  'REPLAY_MISS',
] as const;

export type VllmErrorCode = (typeof ERROR_CODES)[number];

export interface VllmErrorDetails {
  /** Python exception type, when the error came from Python. */
  pyType?: string;
  /** Python traceback, when the error came from Python. */
  pythonTraceback?: string;
  /** The option or config key at fault. */
  option?: string;
  /** Raw model output that failed to parse or validate (extract). */
  rawText?: string;
  cause?: unknown;
}

/** The one error family of vllm-node. */
export class VllmError extends Error {
  readonly code: VllmErrorCode;
  readonly pyType?: string;
  readonly pythonTraceback?: string;
  readonly option?: string;
  readonly rawText?: string;

  constructor(code: VllmErrorCode, message: string, details: VllmErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'VllmError';
    this.code = code;
    if (details.pyType !== undefined) this.pyType = details.pyType;
    if (details.pythonTraceback !== undefined) this.pythonTraceback = details.pythonTraceback;
    if (details.option !== undefined) this.option = details.option;
    if (details.rawText !== undefined) this.rawText = details.rawText;
  }
}

/** Whether `code` is one of this version's error codes (a bridge event's or a recording's code may not be). */
export function isErrorCode(code: string): code is VllmErrorCode {
  return (ERROR_CODES as readonly string[]).includes(code);
}

/**
 * Any error as a VllmError: a VllmError as it is, anything else (a generator or callback that threw a plain Error)
 * as CALL_FAILED, the original kept as `cause`.
 */
export function asVllmError(err: unknown): VllmError {
  return err instanceof VllmError ? err : new VllmError('CALL_FAILED', err instanceof Error ? err.message : String(err), { cause: err });
}

/** Shape of an error event from the Python bridge. */
export interface BridgeError {
  code: string;
  pyType?: string;
  message: string;
  traceback?: string;
  option?: string;
}

export function fromBridge(e: BridgeError, fallback: VllmErrorCode = 'PYTHON_ERROR'): VllmError {
  const code = isErrorCode(e.code) ? e.code : fallback;
  const details: VllmErrorDetails = {};
  if (e.pyType !== undefined) details.pyType = e.pyType;
  if (e.traceback !== undefined) details.pythonTraceback = e.traceback;
  if (e.option !== undefined) details.option = e.option;
  const prefix = e.pyType ? `${e.pyType}: ` : '';
  return new VllmError(code, `${prefix}${e.message}`, details);
}

/**
 * Errors raised on the engine thread reach JS without a useful stack; re-throwing through this keeps the
 * caller's stack (as sharp does) while preserving code and Python details.
 */
export function withCallerStack(err: unknown, callerStack: string | undefined): unknown {
  if (err instanceof VllmError && callerStack) {
    const lines = callerStack.split('\n').slice(1).join('\n');
    err.stack = `${err.name} [${err.code}]: ${err.message}\n${lines}`;
  }
  return err;
}
