// The markdown section of bench/extraction.mjs's result (for docs/benchmarks.md): throughput and latency per path,
// the ratios against issue 25's targets with their bootstrap intervals, correctness, single-posting latency with and
// without n-gram speculation.
import { ratioOfMedians } from './stats.mjs';

/** Issue 25's targets: node/plain >= 100%, node/serve >= 130% postings/s. */
export const TARGETS = { 'node/plain': 1.0, 'node/serve': 1.3 };

const fmt = (x, d = 2) => (x == null || Number.isNaN(x) ? 'n/a' : x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }));
const pct = (x) => (x == null || Number.isNaN(x) ? 'n/a' : `${(x * 100).toFixed(1)}%`);
const ms = (s) => fmt(s * 1000, 0);

/** The verdict on a ratio's target: met or missed only when the whole interval is on one side and it is resolved. */
export function verdict(q, target) {
  if (target === undefined) return q.resolved ? 'resolved' : `not resolved (${q.reason})`;
  if (!q.resolved) return `not resolved (${q.reason}); target ≥ ${pct(target)}`;
  if (q.lo >= target) return `**meets** ≥ ${pct(target)}`;
  if (q.hi < target) return `**misses** ≥ ${pct(target)}`;
  return `interval straddles the target ≥ ${pct(target)}`;
}

function correctnessCells(c) {
  return `${pct(c.parsed)} | ${pct(c.valid)} | ${pct(c.fields)} | ${pct(c.exact)}`;
}

export function extractionReport(r, label) {
  const a = r.engineArgs;
  const lines = [
    '',
    `## Extraction: vllm-node \`extractMany\`, plain vLLM and \`vllm serve\` (bench/extraction.mjs) (${r.date.slice(0, 16).replace('T', ' ')} UTC)`,
    '',
    `- machine: ${r.machine}; vLLM ${r.vllmVersion ?? '?'}${r.gitHead ? `; main ${r.gitHead}` : ''}`,
    `- command: \`${r.command}\``,
    `- engine arguments, the same for every path: \`${JSON.stringify(a)}\`${r.platform === 'gpu' ? ` — the engines resident on one card at once, ${a.gpu_memory_utilization} of it each` : ''}; sampling ${JSON.stringify(r.sampling)}`,
    `- postings: ${r.postings.n} generated (bench/postings.mjs, seed ${r.postings.seed}, ${r.postings.postingTokens.join('–')} tokens by estimate${r.promptTokens ? `; chat prompts ${fmt(r.promptTokens.min, 0)}–${fmt(r.promptTokens.max, 0)} tokens, mean ${fmt(r.promptTokens.mean, 0)}` : ''}), schema of ${r.postings.schemaFields.length} fields (${r.postings.schemaFields.join(', ')}); every path is given extractMany's own chats and the JSON Schema vllm-node derives from the zod schema; structured outputs xgrammar with disable_any_whitespace engine-wide on all three (vLLM reads it there, not per request)`,
    `- ${r.settings.rounds} rounds per path after ${r.settings.warmups} warm-up(s), order ${r.settings.order}, 95% intervals: paired bootstrap over rounds (${r.settings.bootstrapIterations} resamples) of the ratio of medians; wider than ±3% or fewer than 10 rounds: **not resolved**. Latency: each posting from its batch's start to its answer (plain: when LLM.chat's loop saw it finish, through its use_tqdm hook), p50/p99 over all postings of all rounds. Correctness: the answer parses as JSON, follows the schema, and the share of the 8 fields equal to the generated ones (text without case or punctuation, skills as a set); "all 8": postings with every field right.`,
  ];
  for (const [mode, m] of Object.entries(r.modes)) {
    const starts = Object.entries(m.paths).map(([id, p]) => (p.error ? `${id} **failed to start**: ${p.error.split('\n')[0].slice(0, 200)}` : `${id} ${fmt(p.startSeconds, 1)} s`));
    lines.push(`- engines${mode === 'ngram' ? ` with \`speculative_config: ${JSON.stringify(r.speculativeConfig)}\` (node via ${r.nodeSpeculationVia})` : ''}: started in ${starts.join(', ')}`);
  }
  const tp = r.modes.none?.parts.throughput;
  if (tp) {
    lines.push('', `Throughput, ${tp.items} postings at once (${tp.repeats} batch(es) per round):`, '', '| path | postings/s median | min – max | latency p50 ms | p99 ms | output tokens / posting | JSON parses | valid | fields right | all 8 right | prompts ≠ node |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const [id, p] of Object.entries(tp.paths)) {
      lines.push(`| ${label[id]} | ${fmt(p.postingsPerS.median)} | ${fmt(p.postingsPerS.min)} – ${fmt(p.postingsPerS.max)} | ${ms(p.latency.p50)} | ${ms(p.latency.p99)} | ${fmt(p.outputTokensPerPosting, 1)} | ${correctnessCells(p.correctness)} | ${p.promptTokensMismatch ?? 'n/a'} |`);
    }
    for (const [id, e] of Object.entries(tp.errors)) lines.push(`| ${label[id]} | failed: ${e.split('\n')[0].slice(0, 160)} | | | | | | | | | |`);
    lines.push('', '| ratio (postings/s, median / median) | estimate | 95% interval | verdict |', '| --- | --- | --- | --- |');
    for (const q of tp.ratios) lines.push(`| ${q.num} / ${q.den} | ${pct(q.ratio)} | ${pct(q.lo)} – ${pct(q.hi)} | ${verdict(q, TARGETS[`${q.num}/${q.den}`])} |`);
    lines.push('', `- fields right, per field: ${Object.entries(tp.paths).map(([id, p]) => `${id} ${Object.entries(p.correctness.perField).map(([f, x]) => `${f} ${pct(x)}`).join(', ')}`).join('; ')}`);
    const errs = Object.entries(tp.paths).filter(([, p]) => p.errors.length);
    if (errs.length) lines.push(`- vllm-node outcomes not ok: ${errs.map(([id, p]) => `${id}: ${p.errors.join(', ')}`).join('; ')}`);
  }
  const singles = Object.entries(r.modes).filter(([, m]) => m.parts.single);
  if (singles.length) {
    lines.push('', 'Single-posting latency (one request at a time):', '', '| speculation | path | p50 ms | p99 ms | postings | fields right | all 8 right |', '| --- | --- | --- | --- | --- | --- | --- |');
    for (const [mode, m] of singles) {
      for (const [id, p] of Object.entries(m.parts.single.paths)) lines.push(`| ${mode} | ${label[id]} | ${ms(p.latency.p50)} | ${ms(p.latency.p99)} | ${p.latency.n} | ${pct(p.correctness.fields)} | ${pct(p.correctness.exact)} |`);
      for (const [id, e] of Object.entries(m.parts.single.errors)) lines.push(`| ${mode} | ${label[id]} | failed: ${e.split('\n')[0].slice(0, 160)} | | | | |`);
    }
    lines.push('');
    for (const [mode, m] of singles) {
      for (const d of m.parts.single.latencyDiffs) lines.push(`- ${mode}: latency ${d.a} − ${d.b} (median of per-round medians): ${fmt(d.diffMs, 1)} ms (95% ${fmt(d.lo, 1)} – ${fmt(d.hi, 1)} ms)`);
    }
    const none = r.modes.none?.parts.single;
    const spec = r.modes.ngram?.parts.single;
    if (none && spec) {
      for (const id of Object.keys(spec.paths).filter((x) => none.paths[x])) {
        // Separate engine starts: unpaired.
        const q = ratioOfMedians(none.paths[id].roundMedianLatency, spec.paths[id].roundMedianLatency, { iterations: r.settings.bootstrapIterations, seed: r.settings.seed, paired: false });
        lines.push(`- ${id}: n-gram speculation speed-up of single-posting latency (without / with, unpaired): ${fmt(q.ratio)}× (95% ${fmt(q.lo)} – ${fmt(q.hi)}×)`);
      }
    }
  }
  lines.push(r.platform === 'gpu' ? '' : '- card memory: n/a (CPU run)', '');
  return `${lines.join('\n').replace(/\n{3,}/g, '\n\n')}\n`;
}
