"""The raw engine: llama-cpp-python in-process, no server, same model, context, threads and
embedding/pooling settings as the server, same chat prompts and sampling. Prints one JSON object.

Usage: python raw_bench.py <request.json>
"""

import json
import os
import sys
import time

POOLING_TYPES = {"mean": 1, "cls": 2, "last": 3}


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        request = json.load(f)
    import inspect

    import llama_cpp

    kwargs = dict(
        model_path=request["model"],
        n_ctx=request["n_ctx"],
        embedding=True,
        verbose=False,
    )
    if request.get("n_threads"):
        kwargs["n_threads"] = request["n_threads"]
    if request.get("n_threads_batch"):
        kwargs["n_threads_batch"] = request["n_threads_batch"]
    if request.get("flash_attn"):
        kwargs["flash_attn"] = True
    if request.get("chat_format"):
        kwargs["chat_format"] = request["chat_format"]
    if "pooling_type" in inspect.signature(llama_cpp.Llama.__init__).parameters:
        kwargs["pooling_type"] = POOLING_TYPES[request["pooling"]]
    if request.get("extra_buffers") is False:
        # The launcher's own switch, so the raw engine is the engine as served (serve.py says why).
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "python"))
        # No __pycache__ in the clone: importing serve.py must not write beside it.
        sys.dont_write_bytecode = True
        from serve import without_extra_buffers

        without_extra_buffers()
    started = time.perf_counter()
    llm = llama_cpp.Llama(**kwargs)
    load_seconds = time.perf_counter() - started

    def run(messages):
        begin = time.perf_counter()
        first = None
        stamps = []
        text = ""
        finish_reason = "unknown"
        for chunk in llm.create_chat_completion(
            messages=messages,
            max_tokens=request["max_tokens"],
            temperature=0.01,
            top_p=0.01,
            stream=True,
        ):
            finish_reason = chunk["choices"][0].get("finish_reason") or finish_reason
            content = chunk["choices"][0]["delta"].get("content")
            if content:
                now = time.perf_counter()
                first = first if first is not None else now
                stamps.append(now)
                text += content
        end = time.perf_counter()
        # Counted as the served side counts (checks/bench/measure.ts): exact when cut at the cap.
        if finish_reason == "length":
            completion_tokens = request["max_tokens"]
        else:
            counted = len(llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)) if text else 0
            completion_tokens = min(counted, request["max_tokens"])
        return {
            "ttft_ms": (first - begin) * 1000 if first is not None else None,
            "e2e_ms": (end - begin) * 1000,
            "decode_seconds": (end - first) if first is not None else None,
            "completion_tokens": completion_tokens,
            "finish_reason": finish_reason,
            "chunks": len(stamps),
        }

    for messages in request["warmup"]:
        run(messages)
    runs = [run(messages) for messages in request["runs"]]
    print(json.dumps({"load_seconds": load_seconds, "llama_cpp_version": llama_cpp.__version__, "runs": runs}))


if __name__ == "__main__":
    main()
