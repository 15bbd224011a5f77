"""A tool call streamed through the official Python SDK's stream helper, as a program calls it.

client.chat.completions.stream(...) joins the deltas of each call the way the API specifies (by
index, strings appended) and get_final_completion() gives the call a program then runs. Prints one
JSON line: the calls as the SDK put them together.

Usage: python stream_tools.py <model>   (OPENAI_BASE_URL, OPENAI_API_KEY, SDK_TIMEOUT from the environment)
"""

import json
import os
import sys

from openai import OpenAI

TOOLS = json.loads(os.environ["SDK_TOOLS"])


def main():
    client = OpenAI(timeout=float(os.environ.get("SDK_TIMEOUT", "120")), max_retries=0)
    with client.chat.completions.stream(
        model=sys.argv[1],
        messages=[{"role": "user", "content": "What is the weather in Tokyo right now?"}],
        tools=TOOLS,
        tool_choice="required",
        parallel_tool_calls=False,
        max_tokens=96,
        temperature=0,
    ) as stream:
        final = stream.get_final_completion()
    choice = final.choices[0]
    calls = [{"id": call.id, "name": call.function.name, "arguments": call.function.arguments} for call in choice.message.tool_calls or []]
    print(json.dumps({"finish_reason": choice.finish_reason, "calls": calls}))


if __name__ == "__main__":
    main()
