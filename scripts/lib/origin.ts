/**
 * A server's root, where its own endpoints live (the chat page, /health, /props, /tokenize), from
 * the OpenAI base URL the clients are given (`http://127.0.0.1:8080/v1` -> `http://127.0.0.1:8080`).
 */
export function originOf(baseUrl: string): string {
  return baseUrl.replace(/\/v1\/?$/, '');
}
