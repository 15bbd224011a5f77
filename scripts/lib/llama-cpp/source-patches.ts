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

export interface SourcePatch {
  id: string;
  /** Relative to the llama.cpp tree. */
  file: string;
  /** Literal text; every occurrence is replaced. */
  find: string;
  replace: string;
}

const REQUIRED = 'inputs.tool_choice == COMMON_CHAT_TOOL_CHOICE_REQUIRED';
const marker = (id: string) => `/* llm-workbench: ${id} */`;

export const SOURCE_PATCHES: readonly SourcePatch[] = [
  {
    id: 'tool-choice-named-1',
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
    file: join('common', 'chat-auto-parser-generator.cpp'),
    find: 'p.optional(p.content(p.until(tool_start)))',
    replace: `(${REQUIRED} ? p.eps() : p.optional(p.content(p.until(tool_start)))) ${marker('tool-choice-required-1')}`,
  },
  {
    id: 'tool-choice-required-2',
    file: join('common', 'chat-auto-parser-generator.cpp'),
    find: 'p.optional(p.content(content_before_tools))',
    replace: `(${REQUIRED} ? p.eps() : p.optional(p.content(content_before_tools))) ${marker('tool-choice-required-2')}`,
  },
  {
    // Calls in their own tags (<tool_call>...</tool_call>, the templates/chat/ convention) were
    // repeated whatever `parallel_tool_calls` said: a small model called the same function until
    // max_tokens. One call unless the request allows several.
    id: 'parallel-tool-calls-1',
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
];

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
