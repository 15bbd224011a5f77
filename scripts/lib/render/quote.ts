/**
 * Quoting for each target a value can land in. Rendered files get values through these and
 * nothing else, so a model name with a space or a quote cannot break a file or run a command.
 */
import { stringify } from 'yaml';

/** One POSIX shell word. Plain words stay readable; anything else is single-quoted. */
export function shellQuote(value: string): string {
  if (value !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export function shellWords(values: readonly string[]): string {
  return values.map(shellQuote).join(' ');
}

/**
 * One YAML value on a single line: the yaml library chooses plain or quoted style; a value it
 * would spread over lines (a newline inside) is written as a JSON string, which YAML reads too.
 * Quoted as YAML 1.1 would need it: Kubernetes (go-yaml v2) and docker-compose 1.x (PyYAML) read
 * a plain `on`, `yes` or `off` as a boolean, so `--flash-attn on` became `--flash-attn true`'s
 * type error (kubernetes-validate caught it: command.10 True is not a string).
 */
export function yamlValue(value: unknown): string {
  if (Array.isArray(value)) return `[ ${value.map(yamlValue).join(', ')} ]`;
  const text = stringify(value, { lineWidth: 0, version: '1.1' }).trimEnd();
  return text.includes('\n') ? JSON.stringify(value) : text;
}

/** A Dockerfile exec-form array or ENV value: JSON strings are what the Dockerfile parser reads. */
export function dockerJson(value: string | readonly string[]): string {
  return JSON.stringify(value);
}
