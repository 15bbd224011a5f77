import { relative } from 'node:path';

/**
 * The one error type of the project. Every failure a user can cause or fix is thrown as a
 * WorkbenchError with a message (what is wrong, naming the file, field or port) and a hint
 * (the fix). The top level (cli.ts) prints both; the stack only with DEBUG=1.
 */
export class WorkbenchError extends Error {
  readonly hint: string;
  /** Extra lines shown under the message, e.g. the tail of a server log. */
  readonly details: string | undefined;

  constructor(message: string, hint: string, options: { cause?: unknown; details?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'WorkbenchError';
    this.hint = hint;
    this.details = options.details;
  }
}

export function isWorkbenchError(error: unknown): error is WorkbenchError {
  return error instanceof WorkbenchError;
}

/** Formats an error for a terminal: message, details, hint; the stack only when asked. */
export function formatError(error: unknown, showStack: boolean): string {
  if (isWorkbenchError(error)) {
    const lines = [`error: ${error.message}`];
    if (error.details) lines.push(error.details.replace(/\s+$/, ''));
    lines.push(`hint: ${error.hint}`);
    if (showStack && error.stack) lines.push(error.stack);
    if (showStack && error.cause instanceof Error && error.cause.stack) lines.push(`cause: ${error.cause.stack}`);
    return lines.join('\n');
  }
  const text = error instanceof Error ? (showStack ? error.stack ?? error.message : error.message) : String(error);
  return `error: ${text}\nhint: this is a bug in llm-workbench; run again with DEBUG=1 and report the stack.`;
}

/** A path as messages show it: relative to where the user stands when it is below, else absolute. */
export function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith('..') ? rel : file;
}
