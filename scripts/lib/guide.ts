/**
 * The guide's own words and settings (docs/decisions.md#the-guide), in one place: the smoke checks, the
 * benchmark and the notebook all ask what the guide asked, the way it asked.
 */
import type { ChatCompletionCreateParamsNonStreaming, ChatCompletionCreateParamsStreaming } from 'openai/resources/chat/completions';

/** The guide's question and system prompt, kept as written, stray quote included. */
export const GUIDE_PROMPT = '"東京の観光名所を３つ教えてください。';
export const GUIDE_SYSTEM = 'あなたは優秀な日本の観光ガイドです。';
/** The guide's verification program (step 6) asks these, with its system prompt (no final 。). */
export const GUIDE_VERIFICATION_SYSTEM = 'あなたは優秀な日本の観光ガイドです';
export const GUIDE_VERIFICATION_PROMPTS = ['自己紹介をしてください', '富士山の標高は？', GUIDE_PROMPT];
/** Sampling as in the guide, so answers repeat. */
/** The OpenAI model names the guide's code asks for; a single-model server answers any name. */
export const GUIDE_MODEL_NAMES = ['text-davinci-003', 'gpt-3.5-turbo', 'text-embedding-ada-002'] as const;

export const GUIDE_SAMPLING = { temperature: 0.01, top_p: 0.01 } as const;

export type ChatMessage = { role: 'system' | 'user' | 'assistant'; content: string };

/** The guide's chat request (model name gpt-3.5-turbo: the server falls back to its own model). */
export function guideChatRequest(maxTokens: number, messages: ChatMessage[] = guideMessages()): ChatCompletionCreateParamsNonStreaming {
  return { model: 'gpt-3.5-turbo', max_tokens: maxTokens, messages, ...GUIDE_SAMPLING };
}

/** The same request, streamed. */
export function guideChatStreamRequest(maxTokens: number, messages: ChatMessage[] = guideMessages()): ChatCompletionCreateParamsStreaming {
  return { ...guideChatRequest(maxTokens, messages), stream: true };
}

function guideMessages(): ChatMessage[] {
  return [
    { role: 'system', content: GUIDE_SYSTEM },
    { role: 'user', content: GUIDE_PROMPT },
  ];
}
