/**
 * The single source of truth for every option: names, types, defaults (the seed's values), the environment
 * variable and YAML key that can set it, and its documentation (`.describe()`), which README's
 * configuration table and the CLI read.
 */
import { z } from 'zod';

import { VllmError } from './errors.js';

/** The memory cap when neither gpuMemoryUtilization nor gpuMemoryGiB is set (the seed's 0.9). */
export const DEFAULT_GPU_MEMORY_UTILIZATION = 0.9;

/**
 * `schema.safeParse(input)` for options a caller passed. zod can throw on some values instead of reporting them (a
 * string check given an object whose `length` is an object without a prototype): that is INVALID_OPTIONS too.
 */
export function safeParseOptions<S extends z.ZodType>(schema: S, input: unknown, what: string): z.ZodSafeParseResult<z.output<S>> {
  try {
    return schema.safeParse(input);
  } catch (err) {
    throw new VllmError('INVALID_OPTIONS', `Invalid ${what}: ${(err as Error).message}`);
  }
}

export const SamplingDefaultsSchema = z.strictObject({
  maxTokens: z.number().int().positive().default(500).describe('Maximum number of tokens to generate.').meta({ env: 'DEFAULT_MAX_TOKENS', yaml: 'inference.sampling.max_tokens' }),
  temperature: z.number().min(0).max(100).default(0.1).describe('Sampling temperature; 0 is greedy.').meta({ env: 'DEFAULT_TEMPERATURE', yaml: 'inference.sampling.temperature' }),
  topP: z.number().gt(0).max(1).default(0.9).describe('Nucleus sampling: keep the smallest token set whose probability reaches topP.').meta({ env: 'DEFAULT_TOP_P', yaml: 'inference.sampling.top_p' }),
  frequencyPenalty: z.number().min(-2).max(2).default(0.1).describe('Penalise tokens by how often they already appeared.').meta({ env: 'DEFAULT_FREQUENCY_PENALTY', yaml: 'inference.sampling.frequency_penalty' }),
});

/**
 * Speculative decoding (vLLM's speculative_config, mapped in src/speculative.ts). Admitted only after the start-up
 * self-check (python/vllm_node/speculative.py) has found a probe extraction byte-identical with and without it.
 */
export const SpeculativeSchema = z
  .discriminatedUnion('method', [
    z.strictObject({
      method: z.literal('ngram').describe('Drafts by looking the last tokens up in the prompt and output so far (prompt lookup): no draft model.'),
      numSpeculativeTokens: z.number().int().min(1).max(16).default(4).describe('Draft tokens proposed per step (vLLM num_speculative_tokens).'),
      promptLookupMin: z.number().int().min(1).max(16).default(2).describe('Shortest n-gram matched (vLLM prompt_lookup_min).'),
      promptLookupMax: z.number().int().min(1).max(16).default(4).describe('Longest n-gram matched (vLLM prompt_lookup_max).'),
    }),
    z.strictObject({
      method: z.literal('suffix').describe('Suffix decoding (drafts from suffix trees of the prompt and of earlier outputs); needs Arctic Inference installed.'),
      numSpeculativeTokens: z.number().int().min(1).max(64).optional().describe("Most draft tokens per step (vLLM num_speculative_tokens; default: vLLM's suffix tree depth, 24)."),
    }),
  ])
  .refine((s) => s.method !== 'ngram' || s.promptLookupMin <= s.promptLookupMax, { message: 'promptLookupMin must not exceed promptLookupMax', path: ['promptLookupMin'] });

export const EngineOptionsSchema = z.strictObject({
  model: z.string().min(1).describe('Path of a local Hugging Face model folder (checked before vLLM starts; see below), or a hub id such as `org/name` that vLLM resolves itself.').meta({ env: 'DEFAULT_MODEL_PATH', yaml: 'inference.vllm.model', vllm: 'model' }),
  quantization: z
    .string()
    .min(1)
    .nullable()
    .default('fp8')
    .describe('Weight quantization passed to vLLM ("fp8": online dynamic FP8, needs compute capability 8.9+); null for none.').meta({ env: 'VLLM_QUANTIZATION', yaml: 'inference.vllm.quantization', vllm: 'quantization' }),
  kvCacheDtype: z.string().min(1).default('fp8').describe('KV cache data type ("auto" follows the model dtype; "fp8" needs CUDA).').meta({ env: 'VLLM_KV_CACHE_DTYPE', yaml: 'inference.vllm.kv_cache_dtype', vllm: 'kv_cache_dtype' }),
  swapSpace: z
    .number()
    .min(0)
    .max(1024)
    .default(4)
    .describe('CPU memory in GiB for offloading the KV cache: vLLM\'s native KV offload (kv_offloading_size) where the installed vLLM has it, else its swap_space where it accepts one; `engine.info.notes` says how it was applied (not on the CPU backend, whose KV cache is in CPU memory already). 0 turns it off.').meta({ env: 'VLLM_SWAP_SPACE', yaml: 'inference.vllm.swap_space' }),
  gpuMemoryUtilization: z
    .number()
    .gt(0)
    .max(1)
    .optional()
    .describe(
      `Cap on the engine's whole footprint on each GPU, as a fraction of the card (default ${DEFAULT_GPU_MEMORY_UTILIZATION} unless gpuMemoryGiB is set; exclusive with it). The KV cache gets what the cap leaves after weights, activations and the CUDA runtime.`,
    ).meta({ env: 'VLLM_GPU_MEMORY_UTILIZATION', yaml: 'inference.vllm.gpu_memory_utilization', vllm: 'gpu_memory_utilization' }),
  gpuMemoryGiB: z
    .number()
    .gt(0)
    .max(4096)
    .optional()
    .describe('Cap on the engine\'s whole footprint on each GPU in GiB (e.g. 14.4 for a 16 GB card\'s 90%); exclusive with gpuMemoryUtilization. On the CPU backend it sizes the KV cache as the cap minus the weights.').meta({ env: 'VLLM_GPU_MEMORY_GIB', yaml: 'inference.vllm.gpu_memory_gib' }),
  trustRemoteCode: z
    .boolean()
    .default(true)
    .describe('Run custom model code found in the model folder (SECURITY: only for models you trust).').meta({ env: 'VLLM_TRUST_REMOTE_CODE', yaml: 'inference.vllm.trust_remote_code', vllm: 'trust_remote_code' }),
  maxModelLen: z.number().int().positive().optional().describe('Context length; defaults to the model config.').meta({ env: 'VLLM_MAX_MODEL_LEN', yaml: 'inference.vllm.max_model_len', vllm: 'max_model_len' }),
  dtype: z.enum(['auto', 'bfloat16', 'float16', 'float32', 'half', 'float']).default('auto').describe('Weight/activation dtype.').meta({ env: 'VLLM_DTYPE', yaml: 'inference.vllm.dtype', vllm: 'dtype' }),
  tensorParallelSize: z.number().int().min(1).max(64).default(1).describe('Number of GPUs to shard the model over.').meta({ env: 'VLLM_TENSOR_PARALLEL_SIZE', yaml: 'inference.vllm.tensor_parallel_size', vllm: 'tensor_parallel_size' }),
  enforceEager: z.boolean().default(false).describe('Skip CUDA graphs/torch.compile: faster start, slower decode.').meta({ env: 'VLLM_ENFORCE_EAGER', yaml: 'inference.vllm.enforce_eager', vllm: 'enforce_eager' }),
  seed: z.number().int().min(0).max(2 ** 32 - 1).optional().describe('Engine random seed.').meta({ env: 'VLLM_SEED', yaml: 'inference.vllm.seed', vllm: 'seed' }),
  deterministic: z
    .boolean()
    .default(false)
    .describe(
      "vLLM's batch-invariant mode (VLLM_BATCH_INVARIANT=1, set before vLLM is imported): a request gives the same output alone or in any batch (sampled ones need a per-call seed), at a cost in decode speed that `engine.info.notes` states. Needs CUDA with compute capability 8.0+, ROCm or XPU; UNSUPPORTED_SETTING on the CPU backend. Fixed per process by its first engine.",
    ).meta({ env: 'VLLM_NODE_DETERMINISTIC', yaml: 'inference.vllm.deterministic' }),
  cacheDir: z
    .string()
    .min(1)
    .optional()
    .describe(
      "One folder for every cache an engine start writes and reads (vLLM's compile cache, Inductor's, Triton's, FlashInfer's and the other JIT caches), to save and restore between machines; `vllm-node warmup --cache-dir` fills it, `vllm-node doctor --model --cache-dir` says whether it is warm. Unset: each library's default folder. Fixed per process by its first engine.",
    ).meta({ env: 'VLLM_NODE_CACHE_DIR', yaml: 'inference.vllm.cache_dir' }),
  sleepMode: z
    .enum(['off', 'on', 'auto'])
    .default('off')
    .describe('vLLM sleep mode (engine.sleep/wakeUp: weights to CPU memory, GPU memory freed): "on" fails where the platform lacks it (CPU), "auto" enables it where it exists. ModelManager uses "auto".').meta({ env: 'VLLM_SLEEP_MODE', yaml: 'inference.vllm.sleep_mode' }),
  fastStart: z
    .boolean()
    .default(true)
    .describe("Start-time settings that keep decode speed: the EngineCore forked from a fork server that has vLLM imported (model switches skip vLLM's import). false: vLLM's own start.").meta({ env: 'VLLM_NODE_FAST_START', yaml: 'inference.vllm.fast_start' }),
  reasoningParser: z
    .string()
    .min(1)
    .optional()
    .describe(
      "vLLM's reasoning parser for the model's thinking (e.g. \"qwen3\", \"deepseek_r1\"; the installed vLLM's names, listed by the error for an unknown one): a chat result's `reasoning` apart from its `text`, streamed apart (`onReasoning`); it also enables `thinking.budgetTokens`, and vLLM then applies a constraint (jsonSchema, regex...) after the reasoning.",
    ).meta({ env: 'VLLM_REASONING_PARSER', yaml: 'inference.vllm.reasoning_parser', vllm: 'reasoning_parser' }),
  python: z.string().min(1).optional().describe('Python executable (a venv\'s bin/python) to embed.').meta({ env: 'VLLM_NODE_PYTHON', yaml: 'inference.vllm.python' }),
  logLevel: z
    .enum(['debug', 'info', 'warning', 'error', 'critical'])
    .default('warning')
    .describe("Level of vLLM's own log lines (always on stderr, never stdout); \"info\" shows vLLM's start-up progress.").meta({ env: 'VLLM_NODE_LOG_LEVEL', yaml: 'inference.vllm.log_level' }),
  engineArgs: z
    .record(z.string(), z.unknown())
    .default({})
    .describe("Extra vLLM engine keyword arguments (snake_case), passed through as given; a config object vllm-node sets itself (structured_outputs_config: xgrammar, compact JSON) keeps vllm-node's values for the fields it leaves out, with a note.").meta({ yaml: 'inference.vllm.engine_args' }),
  speculative: SpeculativeSchema.optional()
    .describe(
      'Speculative decoding: { method: "ngram", numSpeculativeTokens?, promptLookupMin?, promptLookupMax? } or { method: "suffix", numSpeculativeTokens? } (vLLM speculative_config). Checked at start: a greedy probe extraction must give byte-identical JSON with and without it, else Engine.create fails with UNSUPPORTED_SETTING saying why; `info.notes` reports the check, `engine.metrics()` the acceptance.',
    )
    .meta({ yaml: 'inference.vllm.speculative' }),
  sampling: SamplingDefaultsSchema.default(SamplingDefaultsSchema.parse({})).describe('Default sampling options for every call.'),
});

export type EngineOptionsInput = z.input<typeof EngineOptionsSchema>;
export type EngineOptions = z.output<typeof EngineOptionsSchema>;
export type SamplingDefaults = z.output<typeof SamplingDefaultsSchema>;

/** Extra variables for the chat template (chat calls and countTokens of messages). */
export const ChatTemplateKwargsSchema = z
  .record(z.string(), z.unknown())
  .describe('Extra variables for the Jinja chat template (vLLM chat_template_kwargs), e.g. { enable_thinking: false }; chat calls only.');

/** A thinking model's reasoning: on, off, or on within a token budget. */
export const ThinkingSchema = z
  .union([z.boolean(), z.strictObject({ budgetTokens: z.number().int().min(0).describe('Most tokens of reasoning before vLLM ends it (vLLM thinking_token_budget).') })])
  .describe(
    "Thinking models: true / false sets the chat template's enable_thinking and thinking variables (Qwen3, GLM, DeepSeek, Granite templates read one of them; over chatTemplateKwargs); { budgetTokens } thinks within that many tokens (needs the engine option reasoningParser). Unset: the template's default. Chat calls only; extraction passes false unless set.",
  );

/** Per-call options. Unset values come from the engine's `sampling` defaults. */
export const SamplingOptionsSchema = z.strictObject({
  maxTokens: z.number().int().positive().optional(),
  temperature: z.number().min(0).max(100).optional(),
  topP: z.number().gt(0).max(1).optional(),
  frequencyPenalty: z.number().min(-2).max(2).optional(),
  presencePenalty: z.number().min(-2).max(2).optional().describe('Penalise tokens that already appeared at all.').meta({ vllm: 'presence_penalty' }),
  repetitionPenalty: z.number().gt(0).max(10).optional().describe('Divide the scores of tokens already in the prompt or output by this (1 = off).').meta({ vllm: 'repetition_penalty' }),
  topK: z.number().int().min(-1).optional().describe('Keep only the K most likely tokens; -1 or 0 keeps all.').meta({ vllm: 'top_k' }),
  minP: z.number().min(0).max(1).optional().describe("Drop tokens less likely than minP times the most likely one's probability.").meta({ vllm: 'min_p' }),
  minTokens: z.number().int().min(0).optional().describe('Generate at least this many tokens before end-of-sequence or a stop token can end the output.').meta({ vllm: 'min_tokens' }),
  seed: z.number().int().min(0).max(2 ** 63 - 1).optional().meta({ vllm: 'seed' }),
  stop: z.union([z.string().min(1), z.array(z.string().min(1)).max(64)]).optional(),
  stopTokenIds: z.array(z.number().int().min(0)).max(64).optional().describe('Token ids that end the output (kept out of the text).').meta({ vllm: 'stop_token_ids' }),
  badWords: z.array(z.string().min(1)).max(256).optional().describe('Words the output must not contain (vLLM bad_words).').meta({ vllm: 'bad_words' }),
  logitBias: z
    .record(z.string().regex(/^\d+$/, 'a token id'), z.number().min(-100).max(100))
    .optional()
    .describe('Added to the logits of these token ids before sampling: { "<token id>": bias }, bias in [-100, 100].')
    .meta({ vllm: 'logit_bias' }),
  n: z.number().int().min(1).max(16).optional().describe('Completions to generate for the prompt: generateDetailed / chatDetailed return them in `choices` (text is the first); not with streaming.').meta({ vllm: 'n' }),
  logprobs: z.number().int().min(0).max(20).optional().describe("Return each generated token's log-probability and the N most likely tokens at its position (`logprobs` of the result; 0: the chosen token's only).").meta({ vllm: 'logprobs' }),
  ignoreEos: z.boolean().optional().describe('Keep generating past end-of-sequence (benchmarks).').meta({ vllm: 'ignore_eos' }),
  jsonSchema: z
    .record(z.string(), z.unknown())
    .optional()
    .describe("Constrain decoding to JSON matching this JSON Schema (vLLM structured outputs). At most one of jsonSchema, regex, choice and grammar per call."),
  regex: z
    .string()
    .min(1)
    .optional()
    .describe("Constrain decoding to text matching this regular expression (vLLM structured outputs; xgrammar's regex syntax). A pattern vLLM cannot compile fails that call with INVALID_REQUEST."),
  choice: z
    .array(z.string().min(1))
    .min(1)
    .optional()
    .describe('Constrain the output to exactly one of these strings (vLLM structured outputs).'),
  grammar: z
    .string()
    .min(1)
    .optional()
    .describe('Constrain decoding to this context-free grammar (vLLM structured outputs; EBNF as xgrammar reads it, e.g. `root ::= "yes" | "no"`). A grammar vLLM cannot compile fails that call with INVALID_REQUEST.'),
  chatTemplateKwargs: ChatTemplateKwargsSchema.optional(),
  thinking: ThinkingSchema.optional(),
  signal: z.instanceof(AbortSignal).optional().describe('Abort the request.'),
});

/** The per-call constraints on the output (vLLM structured outputs): a call takes at most one. */
export const CONSTRAINT_OPTIONS = ['jsonSchema', 'regex', 'choice', 'grammar'] as const;

/** Options of extract / extractMany next to the sampling options. */
export const ExtractOptionsSchema = z.strictObject({
  instructions: z.string().optional().describe('Instruction placed before the input; the JSON Schema (or, for a z.enum, the choices) is appended to it.'),
  maxInputTokens: z
    .number()
    .int()
    .positive()
    .optional()
    .describe(
      "Cut the input (never the instructions or the schema) to at most this many tokens. Default, and the most ever kept: what the context (maxModelLen) leaves after the instructions, the schema and maxTokens. Needs a backend that can tokenize (Engine; RemoteGenerator against vLLM's server).",
    ),
  onTruncate: z
    .custom<(truncation: { from: number; to: number }, index: number) => void>((v) => typeof v === 'function', 'expected a function')
    .optional()
    .describe("Called when an input was cut, with its length in tokens before and after ({ from, to }) and the input's index (0 for extract)."),
  onProgress: z
    .custom<(done: number, total: number) => void>((v) => typeof v === 'function', 'expected a function')
    .optional()
    .describe('extractMany: called after each item settles, with the number settled so far.'),
});

/** Options of engine.tokenize. */
export const TokenizeOptionsSchema = z.strictObject({
  addSpecialTokens: z
    .boolean()
    .optional()
    .describe("Add the tokenizer's special tokens (e.g. a BOS) as a generate() prompt gets them (default true); false for text that goes inside a chat."),
});

/** Options of engine.countTokens for messages: the chat options that change how chat() renders them. */
export const CountTokensOptionsSchema = z.strictObject({
  chatTemplate: z.string().optional().describe('The Jinja chat template chat() would be given.'),
  tools: z
    .array(z.looseObject({ type: z.literal('function'), function: z.looseObject({ name: z.string() }) }))
    .optional()
    .describe('The tools chat() would be given (the template lists them in the prompt).'),
  chatTemplateKwargs: ChatTemplateKwargsSchema.optional(),
  thinking: ThinkingSchema.optional().describe('The thinking option chat() would be given (it changes the rendered prompt).'),
});

/** vLLM SamplingParams name of each per-call option that passes through 1:1 (from the `.meta()` above). */
export const SAMPLING_KWARGS: Record<string, string> = Object.fromEntries(
  Object.entries(SamplingOptionsSchema.shape).flatMap(([k, f]) => {
    const { vllm } = source(f as Field);
    return vllm ? [[k, vllm]] : [];
  }),
);
export type SamplingOptions = z.input<typeof SamplingOptionsSchema>;

/** Where an engine option can come from besides code, and the vLLM keyword argument it maps to 1:1 (when it
 * does): carried by each field of the schemas above as zod metadata (`.meta()`), read here. */
export interface OptionSource {
  env?: string;
  yaml?: string;
  vllm?: string;
}

type Field = z.ZodType & { _zod: { def: { type: string; innerType?: Field } } };

function fields(): [string, Field][] {
  const engine = Object.entries(EngineOptionsSchema.shape).filter(([k]) => k !== 'sampling');
  const sampling = Object.entries(SamplingDefaultsSchema.shape).map(([k, v]) => [`sampling.${k}`, v] as const);
  return [...engine, ...sampling] as [string, Field][];
}

/** The zod type names from the outside in: ["default", "nullable", "string"]. */
function layers(field: Field): string[] {
  const out: string[] = [];
  for (let f: Field | undefined = field; f; f = f._zod.def.innerType) out.push(f._zod.def.type);
  return out;
}

function source(field: Field): OptionSource {
  const { env, yaml, vllm } = (field.meta() ?? {}) as OptionSource;
  return { ...(env ? { env } : {}), ...(yaml ? { yaml } : {}), ...(vllm ? { vllm } : {}) };
}

const FIELDS = fields();

export const OPTION_SOURCES: Record<string, OptionSource> = Object.fromEntries(FIELDS.map(([k, f]) => [k, source(f)]));

/** Option keys whose environment values are numbers / booleans / nullable strings (from their zod types). */
export const NUMBER_OPTIONS = new Set(FIELDS.filter(([, f]) => layers(f).at(-1) === 'number').map(([k]) => k));
export const BOOLEAN_OPTIONS = new Set(FIELDS.filter(([, f]) => layers(f).at(-1) === 'boolean').map(([k]) => k));
export const NULLABLE_OPTIONS = new Set(FIELDS.filter(([, f]) => layers(f).includes('nullable')).map(([k]) => k));

/** vLLM keyword argument for each engine option that maps 1:1. */
export const VLLM_KWARGS: Partial<Record<keyof EngineOptions, string>> = Object.fromEntries(
  Object.entries(OPTION_SOURCES).flatMap(([k, s]) => (s.vllm ? [[k, s.vllm]] : [])),
);
