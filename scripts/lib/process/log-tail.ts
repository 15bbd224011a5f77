/** The end of a log file, for error messages and `make logs`. */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';

/**
 * The last `lines` lines of a log file, for error messages. Reads at most the last `maxBytes`
 * bytes (a model server's log can be large), and cuts at a line start so a multi-byte character
 * (a Japanese answer) is never split.
 */
export function logTail(file: string, lines = 30, maxBytes = 64 * 1024): string {
  if (!existsSync(file)) return `(no log at ${file})`;
  const size = statSync(file).size;
  const length = Math.min(size, maxBytes);
  const buffer = Buffer.alloc(length);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buffer, 0, length, size - length);
  } finally {
    closeSync(fd);
  }
  // Mid-file, the first line is partial: start after its newline.
  const start = length < size ? buffer.indexOf(0x0a) + 1 : 0;
  const text = buffer.subarray(start).toString('utf8');
  const tail = text.replace(/\s+$/, '').split('\n').slice(-lines);
  return tail.map((line) => `  | ${line}`).join('\n');
}

/** The first bytes of a log (a server's loading report is at its head: each start begins a new log). */
export function logHead(file: string, bytes = 256 * 1024): string {
  if (!existsSync(file)) return '';
  const buffer = Buffer.alloc(bytes);
  const fd = openSync(file, 'r');
  try {
    return buffer.subarray(0, readSync(fd, buffer, 0, bytes, 0)).toString('utf8');
  } finally {
    closeSync(fd);
  }
}
