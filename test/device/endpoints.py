"""The OpenAI endpoints of a llama-server on the device, with the standard library only (no
openai package there), and served decode speed: 1 stream, then 4 at once, each 128 tokens."""
import json
import sys
import threading
import time
import urllib.request

base = f"http://127.0.0.1:{sys.argv[1]}"

def call(path, body=None, stream=False):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode() if body is not None else None, headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        return r.read().decode() if stream else json.loads(r.read())

def check(name, fn):
    t = time.time()
    try:
        detail = fn()
        print(f"PASS {name:12} {int((time.time()-t)*1000):5} ms  {detail}")
    except Exception as e:
        print(f"FAIL {name:12} {e}")

models = call("/v1/models")
alias = models["data"][0]["id"]
check("models", lambda: alias)
check("props", lambda: call("/props").get("build_info"))
check("chat", lambda: call("/v1/chat/completions", {"model": alias, "messages": [{"role": "user", "content": "Say hello in one short sentence."}], "max_tokens": 32})["choices"][0]["message"]["content"][:60])
check("completions", lambda: call("/v1/completions", {"model": alias, "prompt": "The capital of France is", "max_tokens": 8})["choices"][0]["text"][:60])
check("stream", lambda: f'{call("/v1/chat/completions", {"model": alias, "messages": [{"role": "user", "content": "Count to five."}], "max_tokens": 24, "stream": True}, stream=True).count("data: {")} chunks')
check("embeddings", lambda: f'{len(call("/v1/embeddings", {"model": alias, "input": ["hello", "world"]})["data"][0]["embedding"])} dims')

def decode(results):
    r = call("/completion", {"prompt": "Write a long story about a lighthouse keeper.", "n_predict": 128, "ignore_eos": True, "cache_prompt": False})
    results.append(r["timings"])

for clients in (1, 4):
    rounds = []
    for _ in range(3):
        out = []
        threads = [threading.Thread(target=lambda: decode(out)) for _ in range(clients)]
        t = time.time()
        for th in threads: th.start()
        for th in threads: th.join()
        wall = time.time() - t
        rounds.append((sum(x["predicted_n"] for x in out) / wall, sum(x["predicted_per_second"] for x in out) / len(out)))
    agg = sorted(r[0] for r in rounds)[1]
    per = sorted(r[1] for r in rounds)[1]
    print(f"decode {clients} client(s): aggregate {agg:.0f} tok/s, per stream {per:.0f} tok/s (median of 3 rounds)")
