/**
 * `vllm-node/testing`: what a test suite that runs real models needs.
 *
 * - {@link sharedEngine}: one engine per model and settings for a whole test run, closed at its end (the test
 *   runner must run the files in one process; README, "Testing with vllm-node", has the settings).
 * - {@link RecordingGenerator} / {@link ReplayGenerator}: record a run's calls and answers (e.g. on a GPU host) to
 *   a JSONL file and answer the same calls from it later (e.g. in CPU CI); both are TextGenerators, so the AI SDK
 *   provider and the LangChain adapter work over them.
 *
 * ```ts
 * import { sharedEngine, RecordingGenerator, ReplayGenerator } from 'vllm-node/testing';
 * const file = 'fixtures/chat.jsonl';
 * const generator = process.env.RECORD
 *   ? new RecordingGenerator(await sharedEngine({ model: '/models/qwen3-4b' }), file) // on the GPU host
 *   : new ReplayGenerator(file); // anywhere, no model
 * ```
 */
export { sharedEngine, closeSharedEngines, sharedEngineCount } from './shared-engine.js';
export { RecordingGenerator } from './record.js';
export { ReplayGenerator } from './replay.js';
export { callKey, type RecordedAnswer, type RecordedCall, type RecordedError, type RecordedMethod } from './recording.js';
