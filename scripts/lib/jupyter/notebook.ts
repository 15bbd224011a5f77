/**
 * The guide's notebook (docs/decisions.md#the-guide, step 5): completions, chat with a system prompt,
 * embeddings, streaming and the timing program, with the Python `openai` client. It reads the
 * endpoint from OPENAI_BASE_URL / OPENAI_API_KEY, which JupyterLab's environment carries.
 * Each cell prints a line starting with "CHECK" that the smoke check asserts on.
 */
import { GUIDE_PROMPT, GUIDE_SAMPLING, GUIDE_SYSTEM } from '../guide.ts';

const SETUP = `import os, time
from openai import OpenAI

client = OpenAI(
    base_url=os.environ["OPENAI_BASE_URL"],  # set by llm-workbench, e.g. http://127.0.0.1:8080/v1
    api_key=os.environ.get("OPENAI_API_KEY", "Dummy"),
    # A busy server answers late: wait this long for one answer, then say so instead of retrying.
    timeout=float(os.environ.get("GUIDE_TIMEOUT", "600")),
    max_retries=0,
)
# The guide asks for low temperature and top_p so that answers repeat.
SAMPLING = dict(temperature=${GUIDE_SAMPLING.temperature}, top_p=${GUIDE_SAMPLING.top_p})
MAX_TOKENS = int(os.environ.get("GUIDE_MAX_TOKENS", "64"))  # the guide used 1024
prompt = ${JSON.stringify(GUIDE_PROMPT)}
system = ${JSON.stringify(GUIDE_SYSTEM)}
print("CHECK setup", client.base_url)`;

const COMPLETIONS = `response = client.completions.create(
    model="text-davinci-003",  # any name works: the server falls back to its model
    prompt=prompt,
    max_tokens=MAX_TOKENS,
    **SAMPLING,
)
print(response.choices[0].text)
print("CHECK completions", response.choices[0].finish_reason, response.usage.completion_tokens)`;

const CHAT = `response = client.chat.completions.create(
    model="gpt-3.5-turbo",
    max_tokens=MAX_TOKENS,
    messages=[
        {"role": "system", "content": system},
        {"role": "user", "content": prompt},
    ],
    **SAMPLING,
)
print(response.choices[0].message.content)
print("CHECK chat", response.choices[0].message.role, len(response.choices[0].message.content or ""))`;

const EMBEDDINGS = `response = client.embeddings.create(model="text-embedding-ada-002", input=[prompt, "富士山の標高は？"])
vectors = [item.embedding for item in response.data]
print(vectors[0][:5])
flat = all(isinstance(x, float) for v in vectors for x in v)
print("CHECK embeddings", len(vectors), len(vectors[0]), flat)`;

const STREAMING = `stream = client.chat.completions.create(
    model="gpt-3.5-turbo",
    max_tokens=MAX_TOKENS,
    messages=[
        {"role": "system", "content": system},
        {"role": "user", "content": prompt},
    ],
    stream=True,
    **SAMPLING,
)
pieces = 0
for chunk in stream:
    s = chunk.choices[0].delta.content if chunk.choices else None
    if s is not None:  # the first and last chunks carry no content
        pieces += 1
        print(s, end="")
print()
print("CHECK streaming", pieces)`;

const TIMING = `def predict(prompt, system="", max_tokens=MAX_TOKENS, temperature=0.01, top_p=0.01):
    """The guide's verification program. Its tokens/sec includes prompt time; make bench separates them."""
    start = time.perf_counter()
    response = client.chat.completions.create(
        model="gpt-3.5-turbo",
        max_tokens=max_tokens,
        temperature=temperature,
        top_p=top_p,
        messages=[{"role": "system", "content": system}, {"role": "user", "content": prompt}],
    )
    elapsed = time.perf_counter() - start
    n_token = response.usage.completion_tokens
    print("** input:", response.usage.prompt_tokens)
    print(prompt)
    print("\\n** output:")
    print(response.choices[0].message.content)
    print("\\n** Time: %.2f, Output len: %d, Token/sec: %.1f" % (elapsed, n_token, n_token / elapsed))
    return elapsed, n_token

system = "あなたは優秀な日本の観光ガイドです"
elapsed, n_token = predict("富士山の標高は？", system=system)
print("CHECK timing", n_token, round(elapsed, 3))`;

function cell(source: string, markdown = false): Record<string, unknown> {
  const lines = source.split('\n').map((line, i, all) => (i < all.length - 1 ? `${line}\n` : line));
  return markdown
    ? { cell_type: 'markdown', metadata: {}, source: lines }
    : { cell_type: 'code', execution_count: null, metadata: {}, outputs: [], source: lines };
}

export function guideNotebook(): string {
  const notebook = {
    cells: [
      cell('# LLM on your PC: the guide\'s examples\nRendered by llm-workbench. The endpoint comes from `OPENAI_BASE_URL`; run all cells.', true),
      cell(SETUP),
      cell('## Text completions', true),
      cell(COMPLETIONS),
      cell('## Chat completions with a system prompt', true),
      cell(CHAT),
      cell('## Embeddings: one flat vector per input', true),
      cell(EMBEDDINGS),
      cell('## Streaming', true),
      cell(STREAMING),
      cell('## Timing (the guide\'s verification program)', true),
      cell(TIMING),
    ].map((c, i) => ({ id: `guide-${i}`, ...c })),
    metadata: {
      kernelspec: { display_name: 'Python 3 (ipykernel)', language: 'python', name: 'python3' },
      language_info: { name: 'python' },
    },
    nbformat: 4,
    nbformat_minor: 5,
  };
  return `${JSON.stringify(notebook, null, 1)}\n`;
}

export const NOTEBOOK_NAME = 'llm-workbench-guide.ipynb';
