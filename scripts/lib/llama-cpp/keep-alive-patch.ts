/**
 * The one change llm-workbench makes to the llama.cpp it builds llama-server from.
 *
 * Why: llama-server's streamed responses close their connection although they said keep-alive.
 * Its chunked content provider (tools/server/server-http.cpp) calls `sink.done()` on the last
 * chunk and then returns `has_next`, false; cpp-httplib takes a provider returning false for a
 * cancelled write (Error::Canceled) and closes the socket after the complete response. A client
 * that pooled the socket (the openai clients do) sends its next request into the closing
 * connection and reads "other side closed" / "Server disconnected": measured here, 9 of 130
 * back-to-back streamed requests from the Node openai client failed so. Returning true after
 * done() ends the body the same way (done() stops the write loop) and keeps the connection.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../atomic-write.ts';

export const KEEP_ALIVE_PATCH = {
  id: 'keep-alive-after-stream-1',
  file: join('tools', 'server', 'server-http.cpp'),
  marker: 'llm-workbench: keep the connection after a complete stream',
  /** The same edit for sed in the Dockerfile: the first `return has_next;` after `sink.done();`. */
  sed: "/sink\\.done();/,/return has_next;/ s|return has_next;|return true; // llm-workbench: keep the connection after a complete stream|",
};

const PROVIDER_RETURN = /(sink\.done\(\);[\s\S]*?)return has_next;/;

/** The patched text, or undefined when this source has no such provider (another llama.cpp). */
export function patchKeepAlive(text: string): string | undefined {
  if (text.includes(KEEP_ALIVE_PATCH.marker)) return text;
  if (!PROVIDER_RETURN.test(text)) return undefined;
  return text.replace(PROVIDER_RETURN, `$1return true; // ${KEEP_ALIVE_PATCH.marker}`);
}

/** Applies the patch to a llama.cpp tree; says whether it applied. */
export function applyKeepAlivePatch(llamaCppDir: string): 'applied' | 'not applicable' {
  const file = join(llamaCppDir, KEEP_ALIVE_PATCH.file);
  if (!existsSync(file)) return 'not applicable';
  const patched = patchKeepAlive(readFileSync(file, 'utf8'));
  if (patched === undefined) return 'not applicable';
  writeFileAtomic(file, patched);
  return 'applied';
}
