/**
 * The changes llm-workbench makes to llama.cpp (tool calling, the server's batch scheduler) before building llama-server, as
 * literal edits: each `find` must be in its file (every occurrence is replaced), else the build
 * says the patch does not apply to this llama.cpp. The native build applies them here; the image's
 * build stage applies the same list, shipped as JSON, with scripts/python/patch_llama_cpp.py.
 *
 * Why: the pinned llama-server takes `tool_choice` only as a string (a named function,
 * `{"type":"function","function":{"name":...}}`, is read as "auto", server-common.cpp), and
 * "required" still lets the model write prose before the first call (its grammar is
 * `content? tool-calls`), so a small model rambles until max_tokens and no tool is called. What
 * the OpenAI API promises, and what LangChain's bind_tools(tool_choice=<name>) and instructor's
 * TOOLS mode send: a named choice calls that function, "required" answers with a call, and
 * `parallel_tool_calls: false` one call. And the scheduler: an embedding is served while chats
 * stream (fair-batch-*).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../atomic-write.ts';
import { sha256Hex } from '../fingerprint.ts';

export interface SourcePatch {
  id: string;
  /**
   * `engine`: ggml and llama (every build: llama-server, the bench tools, the llama-cpp-python
   * wheel); `server`: llama-server's own code (its builds only); `package`: llama-cpp-python's
   * own Python code (its wheel only).
   */
  scope: 'engine' | 'server' | 'package';
  /** Relative to the llama.cpp tree (the sdist's vendor/llama.cpp: `package` files are at ../../). */
  file: string;
  /** Literal text; every occurrence is replaced. */
  find: string;
  replace: string;
}

const REQUIRED = 'inputs.tool_choice == COMMON_CHAT_TOOL_CHOICE_REQUIRED';
const marker = (id: string) => `/* llm-workbench: ${id} */`;
const FLASH_ATTENTION = join('ggml', 'src', 'ggml-cpu', 'ops.cpp');

/** The tiled attention kernel's line `find` with its first Q_TILE_SZ (64 rows) made the tile's own row count. */
const tileRowsPatch =
  (prefix: string) =>
  (find: string, index: number): SourcePatch => {
    const id = `${prefix}-${index + 1}`;
    return { id, scope: 'engine', file: FLASH_ATTENTION, find, replace: `${find.replace(/Q_TILE_SZ/, 'tile_rows')} ${marker(id)}` };
  };

/** Set to 1 in a server's environment: every flash-attention query through one kernel path (fa-batch-invariant-*). */
export const BATCH_INVARIANT_ENV = 'LLM_WORKBENCH_BATCH_INVARIANT';
/** Set to 1 in llama-server's environment: waiting prompts go one to a batch (prompts-one-at-a-time-1). */
export const PROMPTS_ONE_AT_A_TIME_ENV = 'LLM_WORKBENCH_PROMPTS_ONE_AT_A_TIME';

export const SOURCE_PATCHES: readonly SourcePatch[] = [
  {
    id: 'tool-choice-named-1',
    scope: 'server',
    file: join('tools', 'server', 'server-common.cpp'),
    find: '    auto tool_choice = json_value(body, "tool_choice", std::string("auto"));\n',
    replace: [
      '    auto tool_choice = json_value(body, "tool_choice", std::string("auto"));',
      `    ${marker('tool-choice-named-1')} // a named function: only that tool, and a call required`,
      '    if (body.contains("tool_choice") && body.at("tool_choice").is_object()) {',
      '        const json & choice = body.at("tool_choice");',
      '        const json function = choice.contains("function") ? choice.at("function") : choice;',
      '        const std::string named = function.is_object() ? json_value(function, "name", std::string()) : std::string();',
      '        json only = json::array();',
      '        if (tools.is_array()) {',
      '            for (const auto & tool : tools) {',
      '                if (tool.contains("function") && json_value(tool.at("function"), "name", std::string()) == named) only.push_back(tool);',
      '            }',
      '        }',
      '        if (only.empty()) throw std::invalid_argument("tool_choice names the function \\"" + named + "\\", which is not in tools");',
      '        tools = only;',
      '        tool_choice = "required";',
      '    }',
      '',
    ].join('\n'),
  },
  {
    id: 'tool-choice-required-1',
    scope: 'server',
    file: join('common', 'chat-auto-parser-generator.cpp'),
    find: 'p.optional(p.content(p.until(tool_start)))',
    replace: `(${REQUIRED} ? p.eps() : p.optional(p.content(p.until(tool_start)))) ${marker('tool-choice-required-1')}`,
  },
  {
    id: 'tool-choice-required-2',
    scope: 'server',
    file: join('common', 'chat-auto-parser-generator.cpp'),
    find: 'p.optional(p.content(content_before_tools))',
    replace: `(${REQUIRED} ? p.eps() : p.optional(p.content(content_before_tools))) ${marker('tool-choice-required-2')}`,
  },
  {
    // Calls in their own tags (<tool_call>...</tool_call>, the templates/chat/ convention) were
    // repeated whatever `parallel_tool_calls` said: a small model called the same function until
    // max_tokens. One call unless the request allows several.
    id: 'parallel-tool-calls-1',
    scope: 'server',
    file: join('common', 'chat-auto-parser-generator.cpp'),
    find: 'p.one_or_more(single_tool_parser + p.space())',
    replace: `(inputs.parallel_tool_calls ? p.one_or_more(single_tool_parser + p.space()) : single_tool_parser + p.space()) ${marker('parallel-tool-calls-1')}`,
  },
  {
    // A batch holds one kind of work (ggml-org/llama.cpp#8420: embeddings and completions are never
    // mixed) and the generating slots claim it first, every iteration: an embedding request waited
    // for as long as anything streamed (a RAG loop beside a chat stalled for minutes). A slot whose
    // prompt cannot join the generating ones now takes every other batch while streams run: its wait
    // is one token's decode, and a stream loses at most every other step to a steady flood.
    id: 'fair-batch-1',
    scope: 'server',
    file: join('tools', 'server', 'server-context.cpp'),
    find: '    server_slot * slot_batched = nullptr;\n',
    replace: [
      '    server_slot * slot_batched = nullptr;',
      '',
      `    ${marker('fair-batch-1')} // the last batch went to a prompt that could not join the generating slots`,
      '    bool gave_turn_to_waiting = false;',
      '',
    ].join('\n'),
  },
  {
    id: 'fair-batch-2',
    scope: 'server',
    file: join('tools', 'server', 'server-context.cpp'),
    find: '        // determine which slots are generating and drafting\n',
    replace: [
      `        ${marker('fair-batch-2')} // a prompt of another kind (an embedding) takes every other batch`,
      '        {',
      '            server_slot * first_generating = nullptr;',
      '            server_slot * waiting = nullptr;',
      '            for (auto & s : slots) {',
      '                if (s.state == SLOT_STATE_GENERATING && s.task) { first_generating = &s; break; }',
      '            }',
      '            if (first_generating && !batch.gave_turn_to_waiting) {',
      '                for (auto & s : slots) {',
      '                    const bool has_prompt = s.state == SLOT_STATE_STARTED || s.state == SLOT_STATE_PROCESSING_PROMPT;',
      '                    if (has_prompt && s.task && !first_generating->can_batch_with(s)) { waiting = &s; break; }',
      '                }',
      '            }',
      '            batch.gave_turn_to_waiting = waiting != nullptr;',
      '            if (waiting) slot_batched = waiting;',
      '        }',
      '',
      '        // determine which slots are generating and drafting',
      '',
    ].join('\n'),
  },
  // Prompts that wait together went into one batch, so each one's first token came after all of
  // them: 4 prompts of 71 tokens arriving at once got their first tokens at 870 ms, all four. Where
  // prompt speed does not grow with the batch (the CPU's: llama-bench pp16 / pp64 / pp256 327 / 323 /
  // 327 tokens/s on 2 cores), taking them one to a batch costs nothing in total and the first comes
  // after its own prompt, the second after two (p50 of 4: 2.5 prompts' time, not 4). With
  // LLM_WORKBENCH_PROMPTS_ONE_AT_A_TIME=1 (the plan sets it where the accelerator says so), once a
  // prompt that will generate is complete in a batch, no other slot's prompt joins that batch; the
  // generating slots' tokens still ride in it. Embeddings still batch together.
  {
    id: 'prompts-one-at-a-time-1',
    scope: 'server',
    file: join('tools', 'server', 'server-context.cpp'),
    find: ['                        slot.init_sampler();', '                    } else {', ''].join('\n'),
    replace: [
      '                        slot.init_sampler();',
      '',
      `                        ${marker('prompts-one-at-a-time-1')} // the next waiting prompt goes in the next batch`,
      '                        static const bool one_at_a_time = [] {',
      `                            const char * value = getenv("${PROMPTS_ONE_AT_A_TIME_ENV}");`,
      "                            return value != nullptr && value[0] != '\\0' && strcmp(value, \"0\") != 0;",
      '                        }();',
      '                        if (one_at_a_time && !slot.need_embd()) {',
      '                            add_ok = false;',
      '                        }',
      '                    } else {',
      '',
    ].join('\n'),
  },
  // Tokens accepted from a speculative draft (server.speculative) reach the client with no
  // probabilities: the verify loop sets `result.prob = 1.0f; // TODO: set result.probs`, so a
  // request with logprobs read 0 for every drafted token, and which tokens were drafted depends on
  // what ngram-mod saw before (the reproducible check's cold and warm runs disagreed on token 0).
  // A request that asks for probabilities decodes one token at a time; the rest keep the drafts.
  {
    id: 'speculative-logprobs-1',
    scope: 'server',
    file: join('tools', 'server', 'server-context.cpp'),
    find: ['        if (!can_speculate()) {', '            return 0;', '        }', ''].join('\n'),
    replace: [
      '        if (!can_speculate()) {',
      '            return 0;',
      '        }',
      '',
      `        if (task->params.sampling.n_probs > 0) { ${marker('speculative-logprobs-1')} // drafted tokens carry no probabilities`,
      '            return 0;',
      '        }',
      '',
    ].join('\n'),
  },
  // Reproducible answers (server.reproducible). The CPU's flash attention takes one of three paths
  // by the shape of the batch: a query alone over 512+ cached tokens is split across threads, fewer
  // than 64 queries go through a one-row kernel that accumulates in F16, 64 or more through a tiled
  // F32 kernel. The first request of a prompt evaluates its last token among the whole prompt (the
  // tiled path); a repeat finds the prompt cached and evaluates that token alone (another path):
  // the logits differ, and at temperature 0 so does the answer, from the first token that was a
  // near tie (ggml-org/llama.cpp#4902). With LLM_WORKBENCH_BATCH_INVARIANT=1 in its environment,
  // every query takes the tiled path: a token's attention is the same whatever else is in its
  // batch (the prompt, other slots' tokens) and however many threads run it.
  {
    id: 'fa-batch-invariant-1',
    scope: 'engine',
    file: FLASH_ATTENTION,
    find: 'static void ggml_compute_forward_flash_attn_ext_f16(\n',
    replace: [
      `${marker('fa-batch-invariant-1')} // every query through the tiled kernel (source-patches.ts says why)`,
      'static bool ggml_fa_batch_invariant(void) {',
      '    static const bool on = [] {',
      `        const char * value = getenv("${BATCH_INVARIANT_ENV}");`,
      "        return value != nullptr && value[0] != '\\0' && strcmp(value, \"0\") != 0;",
      '    }();',
      '    return on;',
      '}',
      '',
      'static void ggml_compute_forward_flash_attn_ext_f16(',
      '',
    ].join('\n'),
  },
  {
    id: 'fa-batch-invariant-2',
    scope: 'engine',
    file: FLASH_ATTENTION,
    find: 'const bool use_split_kv_path = !use_ref && (neq1 == 1',
    replace: `const bool use_split_kv_path = !use_ref && !ggml_fa_batch_invariant() ${marker('fa-batch-invariant-2')} && (neq1 == 1`,
  },
  {
    id: 'fa-batch-invariant-3',
    scope: 'engine',
    file: FLASH_ATTENTION,
    find: 'neq1 >= Q_TILE_SZ);',
    replace: `(neq1 >= Q_TILE_SZ || ggml_fa_batch_invariant())); ${marker('fa-batch-invariant-3')}`,
  },
  // A BLAS build (llama_cpp.blas: openblas, the guide's image) hands matrix products of 32+ rows to
  // BLAS's sgemm and smaller ones to the CPU's row kernels: a prompt's last token got other bits
  // than the same token alone. Reproducible answers keep every product on the CPU's kernels.
  {
    id: 'fa-batch-invariant-blas-1',
    scope: 'engine',
    file: join('ggml', 'src', 'ggml-blas', 'ggml-blas.cpp'),
    find: '            // default back to CPU fast path\n',
    replace: [
      `            ${marker('fa-batch-invariant-blas-1')} // reproducible answers: no product by batch size`,
      `            const char * batch_invariant = getenv("${BATCH_INVARIANT_ENV}");`,
      "            if (batch_invariant != nullptr && batch_invariant[0] != '\\0' && strcmp(batch_invariant, \"0\") != 0) {",
      '                return false;',
      '            }',
      '',
      '            // default back to CPU fast path',
      '',
    ].join('\n'),
  },
  // The tiled kernel computed all 64 rows of its tile however few were queries (the rest zeros):
  // a single query paid 64 times its attention. Only the tile's own rows now; each row's result is
  // the same (simd_gemm accumulates every element alone, in the same order).
  ...[
    'simd_gemm(KQ, (const float *)Q_q, K_f32, Q_TILE_SZ, DK, KV_TILE_SZ);',
    'ggml_vec_scale_f32(Q_TILE_SZ * KV_TILE_SZ, KQ, scale);',
    'ggml_vec_tanh_f32(Q_TILE_SZ * KV_TILE_SZ, KQ, KQ);',
    'ggml_vec_scale_f32(Q_TILE_SZ * KV_TILE_SZ, KQ, logit_softcap);',
    'for (int tq = 0; tq < Q_TILE_SZ; tq++) {',
    'simd_gemm(VKQ32, KQ, V32, Q_TILE_SZ, KV_TILE_SZ, DV);',
  ].map(tileRowsPatch('fa-tile-rows')),
  // The tile's scratch is cleared only for its own rows: a decode step (one query per head) cleared
  // 64 rows of four 16 KB buffers per head and KV tile. Rows past tile_rows are never read (every
  // product above takes tile_rows rows), so each row's result is the same.
  ...[
    'memset(VKQ32, 0, Q_TILE_SZ * DV * sizeof(float));',
    'memset(mask32, 0, Q_TILE_SZ * KV_TILE_SZ * sizeof(float));',
    'memset(KQ, 0, Q_TILE_SZ * KV_TILE_SZ * sizeof(float));',
    'for (int tq = tile_rows; tq < Q_TILE_SZ; tq++) {',
  ].map(tileRowsPatch('fa-tile-clear')),
  // The K tile is packed transposed, one element at a time, and on x86 ggml's one-value F16->F32
  // is a lookup in a 256 KB table (simd-mappings.h defines the F16C instruction only for NEON and
  // POWER): a cache miss per element, measured as 90% of this kernel and a sixth of a decode step
  // (perf, SmolLM2 on 2 cores). A row at a time through ggml's SIMD conversion, then transposed:
  // the same values (both conversions are exact), a third of the decode cost of reproducible answers.
  {
    id: 'fa-k-pack-1',
    scope: 'engine',
    file: FLASH_ATTENTION,
    find: [
      '                    for (int64_t dk = 0; dk < DK; dk++) {',
      '                        K_f32[dk * KV_TILE_SZ + tk] = GGML_CPU_FP16_TO_FP32(k_f16[dk]);',
      '                    }',
    ].join('\n'),
    replace: [
      `                    for (int64_t d0 = 0; d0 < DK; d0 += 64) { ${marker('fa-k-pack-1')} // a row through the SIMD conversion`,
      '                        float k_row[64];',
      '                        const int64_t nd = std::min<int64_t>(64, DK - d0);',
      '                        ggml_cpu_fp16_to_fp32(k_f16 + d0, k_row, nd);',
      '                        for (int64_t dk = 0; dk < nd; dk++) {',
      '                            K_f32[(d0 + dk) * KV_TILE_SZ + tk] = k_row[dk];',
      '                        }',
      '                    }',
    ].join('\n'),
  },
  {
    // A body the server cannot read (not JSON, not UTF-8, empty, a field of the wrong type) threw
    // common_json_error (common/json.h: every error of its JSON), which the route wrapper answered
    // as 500 server_error: a client retries a 5xx, and this is its own mistake. 400
    // invalid_request_error, as OpenAI answers it.
    id: 'json-errors-400-1',
    scope: 'server',
    file: join('tools', 'server', 'server.cpp'),
    find: '        } catch (const std::invalid_argument & e) {\n            // treat invalid_argument as invalid request (400)\n',
    replace: [
      `        } catch (const common_json_error & e) { ${marker('json-errors-400-1')}`,
      '            error = ERROR_TYPE_INVALID_REQUEST;',
      '            message = std::string("the request body is not JSON this server can read (not UTF-8, empty, malformed, or a field of the wrong type): ") + e.what();',
      '        } catch (const std::invalid_argument & e) {',
      '            // treat invalid_argument as invalid request (400)',
      '',
    ].join('\n'),
  },
  {
    // OpenAI's limits on what a client asks for: max_tokens -1 meant "until the context is full"
    // (minutes of a slot for a typo), top_logprobs 5000 that many entries per token.
    id: 'openai-limits-1',
    scope: 'server',
    file: join('tools', 'server', 'server-common.cpp'),
    find: 'json oaicompat_completion_params_parse(const json & body) {\n',
    replace: [
      `${marker('openai-limits-1')} // a field outside OpenAI's range is the client's error, named`,
      'static void check_openai_range(const json & body, const char * key, int64_t lowest, int64_t highest) {',
      '    if (!body.contains(key) || body.at(key).is_null()) return;',
      '    const json & value = body.at(key);',
      '    if (!value.is_number_integer() || value.get<int64_t>() < lowest || value.get<int64_t>() > highest) {',
      '        throw std::invalid_argument(std::string("Invalid \'") + key + "\': expected an integer from " + std::to_string(lowest) +',
      '            (highest == INT64_MAX ? std::string(" up") : " to " + std::to_string(highest)) + ", got " + value.dump());',
      '    }',
      '}',
      '',
      'json oaicompat_completion_params_parse(const json & body) {',
      '    check_openai_range(body, "max_tokens", 1, INT64_MAX);',
      '    check_openai_range(body, "logprobs", 0, 5);',
      '',
    ].join('\n'),
  },
  {
    id: 'openai-limits-2',
    scope: 'server',
    file: join('tools', 'server', 'server-common.cpp'),
    find: '    std::vector<raw_buffer> & out_files)\n{\n    json llama_params;\n',
    replace: [
      '    std::vector<raw_buffer> & out_files)',
      '{',
      `    ${marker('openai-limits-2')}`,
      '    check_openai_range(body, "max_tokens", 1, INT64_MAX);',
      '    check_openai_range(body, "max_completion_tokens", 1, INT64_MAX);',
      '    check_openai_range(body, "top_logprobs", 0, 20);',
      '    json llama_params;',
      '',
    ].join('\n'),
  },
];

/** A patch as a build key names it: its id and a digest of its text, so an edited patch is a new build. */
export function patchKey(patch: SourcePatch): string {
  return `${patch.id}:${sha256Hex(`${patch.file}\n${patch.find}\n${patch.replace}`).slice(0, 8)}`;
}

const LLAMA_PY = join('..', '..', 'llama_cpp', 'llama.py');
const topLogprobsCall = (values: string) => `_llm_workbench_top_logprobs(${values}, logprobs)`;

/**
 * llama-cpp-python's own code. Its logprobs sorted the whole vocabulary as Python tuples for every
 * token to keep the top few (`sorted(zip(logprobs, range(n_vocab)), reverse=True)`): about 50 ms a
 * token on a 49k vocabulary, four times the decode of a small model (a request with `logprobs`
 * took 1.8 s where it took 0.4 s without). The same top entries, in the same order (ties: the
 * higher token id first, as the reversed tuple sort has them), found with numpy's partition.
 */
export const PACKAGE_PATCHES: readonly SourcePatch[] = [
  {
    id: 'logprobs-top-k-1',
    scope: 'package',
    file: LLAMA_PY,
    find: '\nimport numpy as np\n',
    replace: [
      '',
      'import numpy as np',
      '',
      '',
      `def _llm_workbench_top_logprobs(values, k):  # ${marker('logprobs-top-k-1')}`,
      '    # sorted(zip(values, range(len(values))), reverse=True), cut to its first k: the k largest',
      '    # found by a partition, then only they (and any equal to the k-th) sorted.',
      '    n = len(values)',
      '    if not isinstance(k, int) or k <= 0 or k >= n:',
      '        return list(sorted(zip(values, range(n)), reverse=True))',
      '    array = np.asarray(values, dtype=np.float64)',
      '    kth = np.partition(array, n - k)[n - k]',
      '    if np.isnan(array).any():',
      '        return list(sorted(zip(values, range(n)), reverse=True))',
      '    candidates = np.flatnonzero(array >= kth)',
      '    return sorted(((values[int(i)], int(i)) for i in candidates), reverse=True)[:k]',
      '',
    ].join('\n'),
  },
  ...[24, 20].map((indent, index): SourcePatch => {
    const pad = (extra: number) => ' '.repeat(indent + extra);
    const id = `logprobs-top-k-${index + 2}`;
    return {
      id,
      scope: 'package',
      file: LLAMA_PY,
      find: [`${pad(0)}sorted_logprobs = list(`, `${pad(4)}sorted(`, `${pad(8)}zip(current_logprobs, range(len(current_logprobs))),`, `${pad(8)}reverse=True,`, `${pad(4)})`, `${pad(0)})`, ''].join('\n'),
      replace: `${pad(0)}sorted_logprobs = ${topLogprobsCall('current_logprobs')}  # ${marker(id)}\n`,
    };
  }),
  {
    id: 'logprobs-top-k-4',
    scope: 'package',
    file: LLAMA_PY,
    find: ['                sorted_logprobs = list(', '                    sorted(', '                        zip(logprobs_token, range(len(logprobs_token))), reverse=True', '                    )', '                )', ''].join('\n'),
    replace: `                sorted_logprobs = ${topLogprobsCall('logprobs_token')}  # ${marker('logprobs-top-k-4')}\n`,
  },
];

/** What the llama-cpp-python wheel gets: the engine's patches (it has no llama-server) and its own code's. */
export const WHEEL_PATCHES: readonly SourcePatch[] = [...SOURCE_PATCHES.filter((patch) => patch.scope === 'engine'), ...PACKAGE_PATCHES];

/** The patched text, or undefined when `find` is not in it (another llama.cpp). Applied twice, the same. */
export function patchSource(text: string, patch: SourcePatch): string | undefined {
  if (text.includes(marker(patch.id))) return text;
  if (!text.includes(patch.find)) return undefined;
  return text.split(patch.find).join(patch.replace);
}

/** Applies every patch to a llama.cpp tree; returns the ids that did not apply. */
export function applySourcePatches(llamaCppDir: string, patches: readonly SourcePatch[] = SOURCE_PATCHES): string[] {
  const notApplied: string[] = [];
  for (const patch of patches) {
    const file = join(llamaCppDir, patch.file);
    const patched = existsSync(file) ? patchSource(readFileSync(file, 'utf8'), patch) : undefined;
    if (patched === undefined) notApplied.push(patch.id);
    else writeFileAtomic(file, patched);
  }
  return notApplied;
}

/** The image's build stage applies the same list with scripts/python/patch_llama_cpp.py (it has python3, no Node). */
export const PATCHES_CONTEXT_FILE = 'llama-cpp-patches.json';
export const PATCH_SCRIPT_CONTEXT_FILE = 'patch_llama_cpp.py';
