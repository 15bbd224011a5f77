/**
 * The official Python SDK, as the guide's programs use it: a tool call streamed through its stream
 * helper must come out with the function's own name and JSON arguments. The helper joins a call's
 * deltas as the API specifies; a server that repeats the name in each delta gives it a name no
 * program has ("get_weatherget_weather...").
 */
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { serverApiKey } from '../scripts/lib/state/secrets.ts';
import { WEATHER_TOOLS } from './conformance.ts';
import { CheckFailure, expect, smokeTimeoutSeconds, type Check } from './report.ts';
import type { Plan } from '../scripts/lib/plan/index.ts';
import { requirePythonEnv } from '../scripts/lib/state/python-env.ts';

const SCRIPT = join(import.meta.dirname, 'python-sdk', 'stream_tools.py');

export function pythonSdkStreamToolsCheck(plan: Plan, python = () => requirePythonEnv(plan).python): Check {
  return {
    name: 'tools (python sdk stream)',
    async run() {
      const interpreter = python();
      const result = await execa(interpreter, [SCRIPT, plan.model.alias], {
        reject: false,
        all: true,
        env: {
          PATH: `${dirname(interpreter)}:${process.env.PATH ?? ''}`,
          OPENAI_BASE_URL: plan.server.baseUrl,
          OPENAI_API_KEY: serverApiKey(plan) ?? 'Dummy',
          SDK_TIMEOUT: String(smokeTimeoutSeconds()),
          SDK_TOOLS: JSON.stringify(WEATHER_TOOLS),
        },
        timeout: (smokeTimeoutSeconds() + 30) * 1000,
      });
      if (result.failed) {
        const lines = String(result.all).trim().split('\n');
        throw new CheckFailure(`the Python SDK's stream helper failed: ${lines[lines.length - 1] ?? `exit code ${result.exitCode}`}`);
      }
      const said = JSON.parse(String(result.stdout).trim().split('\n').pop() ?? '{}') as { finish_reason?: string; calls?: { id?: string; name?: string; arguments?: string }[] };
      const call = said.calls?.[0];
      expect(call, `get_final_completion() holds no tool call (finish_reason ${said.finish_reason})`);
      const known = WEATHER_TOOLS.map((tool) => tool.function.name);
      expect(known.includes(call.name ?? ''), `get_final_completion() names the function ${JSON.stringify(call.name?.slice(0, 80))}, not one of ${known.join(', ')}: the server repeats the name in each delta of the call`);
      let args: unknown;
      try {
        args = JSON.parse(call.arguments ?? '');
      } catch {
        throw new CheckFailure(`get_final_completion() gives arguments that are not JSON: ${JSON.stringify(call.arguments)}`);
      }
      expect(args !== null && typeof args === 'object' && 'city' in args, `the arguments lack city: ${call.arguments}`);
      return `${call.name}(${JSON.stringify(args)}) from client.chat.completions.stream(...).get_final_completion()`;
    },
  };
}
