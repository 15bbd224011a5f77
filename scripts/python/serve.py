"""llm-workbench launcher for llama_cpp.server: the same server, with pooled embeddings.

Why: llama.cpp takes the pooling type from the GGUF only for a few architectures; for a chat
model (Llama 2, Gemma 3, SmolLM2) it is NONE, and /v1/embeddings then answers one vector per
token instead of one per input. llama_cpp.server has no setting for it, but llama_cpp.Llama
takes `pooling_type`, so this launcher passes it to every model created with embedding=True.
Tried with llama-cpp-python 0.3.36: the same context still generates text (chat, streaming).

Usage: python serve.py [--pooling mean|cls|last] <llama_cpp.server arguments>
Secrets (API_KEY) come from the environment, never from the command line.
"""

import sys

POOLING_TYPES = {"mean": 1, "cls": 2, "last": 3}  # llama_cpp.LLAMA_POOLING_TYPE_*


def take_option(argv, name):
    """Removes `name value` from argv and returns the value (None when absent)."""
    if name not in argv:
        return None
    index = argv.index(name)
    if index + 1 >= len(argv):
        sys.exit(f"serve.py: {name} needs a value ({', '.join(POOLING_TYPES)})")
    value = argv[index + 1]
    del argv[index : index + 2]
    return value


def use_pooling(pooling):
    import inspect

    import llama_cpp

    if "pooling_type" not in inspect.signature(llama_cpp.Llama.__init__).parameters:
        # Releases before pooling_type existed (0.2.55) pool embeddings themselves.
        return
    original_init = llama_cpp.Llama.__init__

    def init_with_pooling(self, *args, **kwargs):
        if kwargs.get("embedding"):
            kwargs["pooling_type"] = POOLING_TYPES[pooling]
        original_init(self, *args, **kwargs)

    llama_cpp.Llama.__init__ = init_with_pooling


def main():
    argv = sys.argv[1:]
    pooling = take_option(argv, "--pooling")
    if pooling is not None:
        if pooling not in POOLING_TYPES:
            sys.exit(f"serve.py: --pooling must be one of {', '.join(POOLING_TYPES)}, not {pooling!r}")
        use_pooling(pooling)
    sys.argv = [sys.argv[0], *argv]
    from llama_cpp.server.__main__ import main as server_main

    server_main()


if __name__ == "__main__":
    main()
