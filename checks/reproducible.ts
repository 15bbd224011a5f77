/**
 * The guide's promise, checked as its readers meet it: the same request at temperature 0 gives
 * the same answer whether its prompt was cached or not and whatever else the server is doing
 * (毎回返答が変わらないように), and a Japanese answer streamed is the same answer, whole characters
 * in every chunk.
 */
import type OpenAI from 'openai';
import { GUIDE_PROMPT, GUIDE_SYSTEM } from '../scripts/lib/guide.ts';
import { CheckFailure, expect, type Check } from './report.ts';

/** What one answer is, down to the computation: its text and each token's log-probability when the server gives them. */
export interface Answer {
  text: string;
  logprobs?: number[];
}

const ANSWER_TOKENS = 24;

/** A question as the guide asks it, led by a tag of its own so that its first request finds nothing cached. */
export function taggedMessages(tag: string): OpenAI.ChatCompletionMessageParam[] {
  return [
    { role: 'system', content: `[${tag}] ${GUIDE_SYSTEM}` },
    { role: 'user', content: GUIDE_PROMPT },
  ];
}

async function answer(client: OpenAI, model: string, messages: OpenAI.ChatCompletionMessageParam[]): Promise<Answer> {
  const response = await client.chat.completions.create({ model, messages, max_tokens: ANSWER_TOKENS, temperature: 0, logprobs: true, top_logprobs: 1 });
  const choice = response.choices[0];
  const logprobs = choice?.logprobs?.content?.map((token) => token.logprob);
  return { text: choice?.message?.content ?? '', ...(logprobs?.length ? { logprobs } : {}) };
}

/** Where two answers part, said for a person: the first differing character, or the first token whose log-probability moved. */
export function answerDifference(first: Answer, second: Answer): string | undefined {
  if (first.text !== second.text) {
    let at = 0;
    while (at < first.text.length && first.text[at] === second.text[at]) at++;
    const around = (text: string) => JSON.stringify(text.slice(Math.max(0, at - 8), at + 24));
    return `the text differs from character ${at}: ${around(first.text)} against ${around(second.text)}`;
  }
  if (first.logprobs && second.logprobs) {
    const index = first.logprobs.findIndex((value, i) => value !== second.logprobs![i]);
    if (index >= 0) return `the same text, but token ${index}'s log-probability is ${first.logprobs[index]} against ${second.logprobs[index]}: the computation depends on what was cached or batched`;
  }
  return undefined;
}

/**
 * Another client streaming while a request is answered: started, and `during` runs once its first
 * chunk is out (a server of one slot answers `during` after the stream; one of several beside it).
 */
async function whileAnotherStreams<T>(client: OpenAI, model: string, during: () => Promise<T>): Promise<T> {
  const stream = await client.chat.completions.create({ model, max_tokens: 24, temperature: 0.7, stream: true, messages: [{ role: 'user', content: 'Tell a long story about a cat in Kyoto.' }] });
  const iterator = stream[Symbol.asyncIterator]();
  await iterator.next();
  const result = during();
  const drained = (async () => {
    for (let next = await iterator.next(); !next.done; next = await iterator.next());
  })();
  const [value] = await Promise.all([result, drained]);
  return value;
}

/**
 * `triples` times: a question never asked before (cold), asked again (its prompt cached: warm),
 * and again while another client streams (busy). The three answers must be the same text and,
 * where the server gives them, the same log-probabilities.
 */
export function reproducibleCheck(client: OpenAI, model: string, triples: number, label = ''): Check {
  return {
    name: `reproducible${label}`,
    async run() {
      const run = Math.random().toString(36).slice(2, 8);
      let withLogprobs = 0;
      for (let i = 0; i < triples; i++) {
        const messages = taggedMessages(`${run}-${i}`);
        const cold = await answer(client, model, messages);
        const warm = await answer(client, model, messages);
        const busy = await whileAnotherStreams(client, model, () => answer(client, model, messages));
        expect(cold.text.trim().length > 0, `triple ${i + 1}: the answer is empty`);
        const warmDiffers = answerDifference(cold, warm);
        expect(warmDiffers === undefined, `triple ${i + 1} of ${triples}, cold against warm (the same request, its prompt cached): ${warmDiffers}`);
        const busyDiffers = answerDifference(cold, busy);
        expect(busyDiffers === undefined, `triple ${i + 1} of ${triples}, cold against busy (the same request while another client streams): ${busyDiffers}`);
        if (cold.logprobs) withLogprobs++;
      }
      const compared = withLogprobs === triples ? 'text and every token\'s log-probability' : 'text (the server gave no log-probabilities)';
      return `${triples} cold/warm/busy triples at temperature 0: the same ${compared}`;
    },
  };
}

/**
 * A Japanese question streamed: no chunk carries U+FFFD (a character split between chunks and
 * decoded half), and, where answers are reproducible, the chunks joined are the answer the same
 * request gets whole.
 */
export function japaneseStreamCheck(client: OpenAI, model: string, reproducible: boolean, label = ''): Check {
  return {
    name: `japanese stream${label}`,
    async run() {
      const messages: OpenAI.ChatCompletionMessageParam[] = [
        { role: 'system', content: GUIDE_SYSTEM },
        { role: 'user', content: `${GUIDE_PROMPT} 日本語で答えてください。` },
      ];
      const whole = await client.chat.completions.create({ model, messages, max_tokens: 48, temperature: 0 });
      const wholeText = whole.choices[0]?.message?.content ?? '';
      const stream = await client.chat.completions.create({ model, messages, max_tokens: 48, temperature: 0, stream: true });
      const pieces: string[] = [];
      for await (const chunk of stream) {
        const content = chunk.choices[0]?.delta?.content;
        if (content) pieces.push(content);
      }
      const broken = pieces.findIndex((piece) => piece.includes('\uFFFD'));
      if (broken >= 0) throw new CheckFailure(`chunk ${broken + 1} of ${pieces.length} carries U+FFFD (${JSON.stringify(pieces[broken])}): a character was split between chunks`);
      const joined = pieces.join('');
      expect(joined.trim().length > 0, 'the stream carried no text');
      if (reproducible) {
        const differs = answerDifference({ text: wholeText }, { text: joined });
        expect(differs === undefined, `the chunks joined are not the answer the same request got whole: ${differs}`);
      }
      const multiByte = [...joined].filter((ch) => ch.codePointAt(0)! > 0x7f).length;
      const compared = reproducible ? ', joined equal to the whole answer' : ' (server.reproducible: false: not compared with the whole answer)';
      return `${pieces.length} chunks, ${multiByte} non-ASCII characters, none split${compared}`;
    },
  };
}
