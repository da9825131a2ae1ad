export { Engine, type ChatOptions, type CreateOptions, type EngineState } from './engine.js';
export { VllmError, ERROR_CODES, type VllmErrorCode, type VllmErrorDetails } from './errors.js';
export { resolveEngineOptions, type ResolveOptions } from './config.js';
export { cpuProfile } from './profiles.js';
export {
  EngineOptionsSchema,
  SamplingOptionsSchema,
  SamplingDefaultsSchema,
  OPTION_SOURCES,
  type OptionSource,
  type EngineOptions,
  type EngineOptionsInput,
  type SamplingOptions,
} from './options.js';
export type { EngineMetrics, SpeculativeMetrics } from './types.js';
export type { ChatMessage, ChatTool, EffectiveConfig, GenerationChoice, GenerationResult, MemoryInfo, RequestTimings, SleepPreparation, TokenLogprob } from './types.js';
export { toJsonSchema, type ExtractOptions, type ExtractManyOptions, type ExtractOutcome, type ChatBackend } from './extract.js';
export type { TextGenerator, ChatCallOptions } from './generator.js';
export {
  extractDetailed,
  extractManyDetailed,
  type DetailedExtraction,
  type DetailedOutcome,
  type Escalation,
  type EscalationTarget,
  type ExtractManyDetailedOptions,
} from './extract-detailed.js';
export type { FieldInfo, Span } from './field-confidence.js';
export type { TokenizeOptions, CountTokensOptions, InputTruncation } from './tokens.js';
export { RemoteGenerator, type RemoteOptions } from './remote.js';
export { Router, type RouterOptions } from './router.js';
export {
  ModelManager,
  type ModelManagerOptions,
  type ModelManagerCreateOptions,
  type ModelCallOptions,
  type SwitchTiming,
  type ModelState,
  type ModelManagerMemory,
  type ModelMemory,
  type CardBudget,
  type CapSetting,
  type EngineFactory,
  type ManagedEngine,
} from './model-manager.js';
export { cacheSettings, cacheState, warmEngine, warmState, vllmCacheRoot, type CacheState, type InstalledStack, type WarmRecord } from './warmup.js';
