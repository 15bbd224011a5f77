/**
 * The guide's client path, proven: the provisioned notebook (Python `openai` client) runs top
 * to bottom in the env's own kernel with `jupyter nbconvert --execute`, and the lines its cells
 * print are checked, not just the absence of errors.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { readGgufInfo } from '../scripts/lib/model/gguf.ts';
import { guideNotebook, NOTEBOOK_NAME } from '../scripts/lib/jupyter/notebook.ts';
import { serverApiKey } from '../scripts/lib/state/secrets.ts';
import { CheckFailure, expect, knob, smokeTimeoutSeconds, type Check } from './report.ts';
import type { Plan } from '../scripts/lib/plan/index.ts';
import { requirePythonEnv } from '../scripts/lib/state/python-env.ts';

interface NotebookCell {
  cell_type: string;
  outputs?: { output_type: string; text?: string | string[]; ename?: string; evalue?: string }[];
}

/** Everything the cells printed, in order. */
export function printedLines(notebook: { cells: NotebookCell[] }): string[] {
  return notebook.cells
    .flatMap((cell) => cell.outputs ?? [])
    .filter((output) => output.output_type === 'stream')
    .map((output) => (Array.isArray(output.text) ? output.text.join('') : output.text ?? ''))
    .join('')
    .split('\n');
}

/** The CHECK lines the guide notebook prints, checked against what the guide's examples must show. */
export function verifyGuideOutputs(lines: string[], embeddingLength: number | undefined): string {
  const find = (name: string) => {
    const line = lines.find((l) => l.startsWith(`CHECK ${name} `) || l === `CHECK ${name}`);
    expect(line, `the ${name} cell printed no CHECK line`);
    return line.split(' ').slice(2);
  };
  find('setup');
  const [finish, completionTokens] = find('completions');
  expect(finish === 'stop' || finish === 'length', `completions finish_reason is ${finish}`);
  expect(Number(completionTokens) > 0, 'completions returned no tokens');
  const [role, chatLength] = find('chat');
  expect(role === 'assistant' && Number(chatLength) > 0, `chat answered role ${role} with ${chatLength} characters`);
  const [vectors, dims, flat] = find('embeddings');
  expect(vectors === '2' && flat === 'True', `embeddings gave ${vectors} vectors, flat=${flat}`);
  if (embeddingLength !== undefined) expect(Number(dims) === embeddingLength, `embeddings have ${dims} dimensions, the model has ${embeddingLength}`);
  const [pieces] = find('streaming');
  expect(Number(pieces) >= 2, `streaming printed ${pieces} pieces`);
  const [timingTokens, seconds] = find('timing');
  expect(Number(timingTokens) > 0 && Number(seconds) > 0, `the timing cell measured ${timingTokens} tokens in ${seconds} s`);
  return `completions ${completionTokens} tokens, chat ${chatLength} chars, embeddings 2x${dims}, streaming ${pieces} pieces, timing ${timingTokens} tokens in ${seconds}s`;
}

export function notebookCheck(plan: Plan): Check {
  return {
    name: 'notebook',
    async run() {
      const env = requirePythonEnv(plan);
      const dir = mkdtempSync(join(tmpdir(), 'wb-notebook-'));
      try {
        const source = join(dir, NOTEBOOK_NAME);
        writeFileSync(source, guideNotebook());
        const result = await execa(
          env.python,
          // A cell may take one request's timeout and a little more; the client in it gives up first and says so.
          ['-m', 'jupyter', 'nbconvert', '--to', 'notebook', '--execute', `--ExecutePreprocessor.timeout=${smokeTimeoutSeconds() + 60}`, '--ExecutePreprocessor.kernel_name=python3', '--output', 'executed', '--output-dir', dir, source],
          {
            reject: false,
            all: true,
            cwd: dir,
            env: {
              // The kernel spec runs "python": the env's own must come first.
              PATH: `${dirname(env.python)}:${process.env.PATH ?? ''}`,
              OPENAI_BASE_URL: plan.server.baseUrl,
              OPENAI_API_KEY: serverApiKey(plan) ?? 'Dummy',
              JUPYTER_RUNTIME_DIR: join(dir, 'runtime'),
              GUIDE_TIMEOUT: String(smokeTimeoutSeconds()),
              // The notebook's own setting for the same thing (its cells read GUIDE_MAX_TOKENS).
              ...(process.env.SMOKE_MAX_TOKENS ? { GUIDE_MAX_TOKENS: String(knob('SMOKE_MAX_TOKENS', 64)) } : {}),
            },
          },
        );
        if (result.failed) {
          const lines = String(result.all).trim().split('\n').filter((l) => /Error|error:/.test(l));
          const last = lines[lines.length - 1] ?? `nbconvert exit code ${result.exitCode}`;
          const waited = /APITimeoutError|Timeout waiting for execute reply/.test(String(result.all)) ? ` (no answer within ${smokeTimeoutSeconds()} s, SMOKE_TIMEOUT: the server is busy or hung; make status says which)` : '';
          throw new CheckFailure(`the notebook stopped with an error: ${last}${waited}`);
        }
        const executed = JSON.parse(readFileSync(join(dir, 'executed.ipynb'), 'utf8')) as { cells: NotebookCell[] };
        const embeddingLength = (await readGgufInfo(plan.model.path).catch(() => undefined))?.embeddingLength;
        return verifyGuideOutputs(printedLines(executed), embeddingLength);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
