"""llm-workbench launcher for llama_cpp.server: the same server, with pooled embeddings.

Why: llama.cpp takes the pooling type from the GGUF only for a few architectures; for a chat
model (Llama 2, Gemma 3, SmolLM2) it is NONE, and /v1/embeddings then answers one vector per
token instead of one per input. llama_cpp.server has no setting for it, but llama_cpp.Llama
takes `pooling_type`, so this launcher passes it to every model created with embedding=True.
Tried with llama-cpp-python 0.3.36: the same context still generates text (chat, streaming).

Usage: python serve.py [--no_extra_buffers] [--pooling mean|cls|last] <llama_cpp.server arguments>
       python serve.py [--no_extra_buffers] --config_file server-config.json   (several models)
The config file is llama_cpp.server's, plus a `pooling` per model, which this launcher takes out
(llama_cpp's settings refuse unknown keys). Secrets (API_KEY) come from the environment, never
from the command line or the file.
"""

import json
import os
import sys

POOLING_TYPES = {"mean": 1, "cls": 2, "last": 3}  # llama_cpp.LLAMA_POOLING_TYPE_*


def take_option(argv, name):
    """Removes `name value` from argv and returns the value (None when absent)."""
    if name not in argv:
        return None
    index = argv.index(name)
    if index + 1 >= len(argv):
        sys.exit(f"serve.py: {name} needs a value")
    value = argv[index + 1]
    del argv[index : index + 2]
    return value


def use_pooling(pooling_for):
    """pooling_for(model_path) -> "mean" | "cls" | "last" | None, for each model llama_cpp loads."""
    import inspect

    import llama_cpp

    if "pooling_type" not in inspect.signature(llama_cpp.Llama.__init__).parameters:
        # Releases before pooling_type existed (0.2.55) pool embeddings themselves.
        return
    original_init = llama_cpp.Llama.__init__

    def init_with_pooling(self, *args, **kwargs):
        pooling = pooling_for(kwargs.get("model_path", args[0] if args else None))
        if kwargs.get("embedding") and pooling is not None:
            kwargs["pooling_type"] = POOLING_TYPES[pooling]
        original_init(self, *args, **kwargs)

    llama_cpp.Llama.__init__ = init_with_pooling


def without_extra_buffers():
    """Loads every model without llama.cpp's extra buffer types (AMX, weight repacking).

    Why: on CPUs with AMX (Sapphire Rapids and later) llama.cpp puts the weights in an AMX
    buffer, and the first prompt of more than a few tokens then crashes the process with a
    segmentation fault in ggml_backend_amx_mul_mat (ggml-org/llama.cpp#20824, seen here with
    0.3.36 and SmolLM2 Q4_1). llama_cpp.Llama has no argument for it; the model params do.
    """
    import llama_cpp
    import llama_cpp.llama as llama_module

    original = llama_cpp.llama_model_default_params

    def default_params():
        params = original()
        if hasattr(params, "use_extra_bufts"):
            params.use_extra_bufts = False
        return params

    llama_cpp.llama_model_default_params = default_params
    llama_module.llama_cpp.llama_model_default_params = default_params
    print("serve.py: this CPU has AMX: weights stay in plain CPU buffers (ggml-org/llama.cpp#20824)", file=sys.stderr)


def client_errors_as_4xx():
    """A request the server cannot take is the client's error: 400 with OpenAI's error body.

    llama_cpp.server's RouteErrorHandler catches every exception of a route, the request's own
    validation errors (a message role it does not know, a response_format it does not take)
    included, and answers 500 "internal_server_error", which clients retry and report as a
    server fault. Validation errors become 400 "invalid_request_error" naming the field.
    """
    from fastapi.exceptions import RequestValidationError
    from pydantic import ValidationError
    from llama_cpp.server import errors

    original = errors.RouteErrorHandler.error_message_wrapper

    def wrapper(self, error, body=None):
        if isinstance(error, (RequestValidationError, ValidationError)):
            problems = error.errors()
            first = problems[0] if problems else {}
            where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
            message = "; ".join(
                f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body')}: {e.get('msg', '')}" for e in problems[:3]
            )
            return 400, errors.ErrorResponse(message=message or str(error), type="invalid_request_error", param=where or None, code=None)
        return original(self, error, body)

    errors.RouteErrorHandler.error_message_wrapper = wrapper


def check_pooling(pooling, where):
    if pooling not in POOLING_TYPES:
        sys.exit(f"serve.py: {where} must be one of {', '.join(POOLING_TYPES)}, not {pooling!r}")


def serve_config_file(path):
    """What llama_cpp.server's own --config_file does, with per-model pooling and the key from API_KEY."""
    with open(path, encoding="utf-8") as f:
        config = json.load(f)
    pooling_by_path = {}
    for model in config.get("models", []):
        if "pooling" in model:
            pooling = model.pop("pooling")
            check_pooling(pooling, f"pooling of {model.get('model_alias', model.get('model'))} in {path}")
            pooling_by_path[model["model"]] = pooling
    use_pooling(pooling_by_path.get)
    if os.environ.get("API_KEY"):
        config["api_key"] = os.environ["API_KEY"]

    import uvicorn
    from llama_cpp.server.app import create_app
    from llama_cpp.server.settings import ConfigFileSettings, ServerSettings

    settings = ConfigFileSettings.model_validate(config)
    server_settings = ServerSettings.model_validate(settings)
    app = create_app(server_settings=server_settings, model_settings=settings.models)
    uvicorn.run(
        app,
        host=os.getenv("HOST", server_settings.host),
        port=int(os.getenv("PORT", server_settings.port)),
    )


def main():
    client_errors_as_4xx()
    argv = sys.argv[1:]
    if "--no_extra_buffers" in argv:
        argv.remove("--no_extra_buffers")
        without_extra_buffers()
    config_file = take_option(argv, "--config_file")
    if config_file is not None:
        if argv:
            sys.exit(f"serve.py: --config_file takes no other arguments, got {argv!r}")
        serve_config_file(config_file)
        return
    pooling = take_option(argv, "--pooling")
    if pooling is not None:
        check_pooling(pooling, "--pooling")
        use_pooling(lambda _model_path: pooling)
    sys.argv = [sys.argv[0], *argv]
    from llama_cpp.server.__main__ import main as server_main

    server_main()


if __name__ == "__main__":
    main()
