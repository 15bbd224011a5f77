"""llm-workbench launcher for llama_cpp.server: the same server, with pooled embeddings, client
errors as 4xx (bodies it cannot read included), json_schema structured output and tool calls as
the OpenAI API asks for them (streamed calls name their function once).

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
    0.3.36 and SmolLM2 Q4_1). And reproducible answers: a repacked matrix is multiplied by one
    kernel for one row and another for several, so a token's logits would depend on its batch.
    llama_cpp.Llama has no argument for it; the model params do.
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
    print("serve.py: weights stay in plain CPU buffers (no AMX or repacked layouts)", file=sys.stderr)


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
        if isinstance(error, RequestError):
            return 400, errors.ErrorResponse(message=str(error), type="invalid_request_error", param=error.param, code=None)
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


def request_models_as_openai_sends():
    """Widens llama_cpp.server's request models, before they are built, to what OpenAI clients send.

    - `response_format: {"type": "json_schema", ...}`: what the openai SDK's parse helpers,
      instructor's JSON_SCHEMA mode and LangChain's with_structured_output(method="json_schema")
      send. llama-cpp-python 0.3.x takes only "text" and "json_object" (with an optional `schema`,
      which it turns into a grammar) and answered HTTP 500; each request's json_schema becomes the
      json_object with that schema (as_llama_cpp_response_format).
    - an assistant message with `content: null` beside its tool_calls: what every client sends
      back after a tool call; its request model wants a string (HTTP 400 before this).
    """
    from typing import Any, Optional, Union

    from typing_extensions import Literal, NotRequired, TypedDict

    import llama_cpp

    class ResponseFormat(TypedDict):
        type: Literal["text", "json_object", "json_schema"]
        schema: NotRequired[Any]
        json_schema: NotRequired[Any]

    class AssistantMessage(TypedDict):
        role: Literal["assistant"]
        content: NotRequired[Optional[str]]
        tool_calls: NotRequired[llama_cpp.llama_types.ChatCompletionMessageToolCalls]
        function_call: NotRequired[llama_cpp.llama_types.ChatCompletionRequestAssistantMessageFunctionCall]

    types = llama_cpp.llama_types
    llama_cpp.ChatCompletionRequestResponseFormat = ResponseFormat
    llama_cpp.ChatCompletionRequestMessage = Union[
        types.ChatCompletionRequestSystemMessage,
        types.ChatCompletionRequestUserMessage,
        AssistantMessage,
        types.ChatCompletionRequestToolMessage,
        types.ChatCompletionRequestFunctionMessage,
    ]


class RequestError(ValueError):
    """A request this launcher refuses: answered 400 invalid_request_error (client_errors_as_4xx)."""

    def __init__(self, message, param=None):
        super().__init__(message)
        self.param = param


# OpenAI's ranges for what a client asks for. llama-cpp-python takes max_tokens <= 0 as "until the
# context is full" (minutes of the one model for a typo) and returns any number of top_logprobs.
OPENAI_RANGES = {
    "/v1/chat/completions": {"max_tokens": (1, None), "max_completion_tokens": (1, None), "top_logprobs": (0, 20)},
    "/v1/completions": {"max_tokens": (1, None), "logprobs": (0, 5)},
}


def body_problem(raw, path):
    """What is wrong with a request body, as (message, param), or None: checked before FastAPI reads it.

    llama_cpp.server's route wrapper answers any exception with 500, and on one raised while the
    body was read (not UTF-8, nested past what Python's json parses) it reads the body again and
    fails outright: a client retries a 5xx, and these are its own mistakes.
    """
    if not raw.strip():
        return "the request body is empty: send a JSON object", None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return f"the request body is not UTF-8 (byte 0x{raw[error.start]:02x} at offset {error.start})", None
    try:
        value = json.loads(text)
    except RecursionError:
        return "the request body is nested deeper than this server parses (about 1000 levels of arrays or objects)", None
    except ValueError as error:
        return f"the request body is not JSON: {error}", None
    if not isinstance(value, dict):
        return f"the request body must be a JSON object, not {type(value).__name__}", None
    for key, (lowest, highest) in OPENAI_RANGES.get(path, {}).items():
        given = value.get(key)
        if given is None:
            continue
        if isinstance(given, bool) or not isinstance(given, int) or given < lowest or (highest is not None and given > highest):
            upper = f" to {highest}" if highest is not None else " up"
            return f"Invalid '{key}': expected an integer from {lowest}{upper}, got {json.dumps(given)}", key
    return None


def unreadable_bodies_as_4xx():
    """Every POST body is read and checked first: one the server cannot take is a 400 naming why."""
    from fastapi.responses import JSONResponse
    from llama_cpp.server import errors

    original = errors.RouteErrorHandler.get_route_handler

    def get_route_handler(self):
        handler = original(self)

        async def checked(request):
            if request.method == "POST":
                problem = body_problem(await request.body(), request.url.path)
                if problem is not None:
                    message, param = problem
                    return JSONResponse(
                        {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": None}},
                        status_code=400,
                    )
            return await handler(request)

        return checked

    errors.RouteErrorHandler.get_route_handler = get_route_handler


def tool_calls_named_once(chunks):
    """A streamed call's id, type and function name in its first delta only, as OpenAI sends them.

    llama-cpp-python repeats them in every delta of the same call; a client that accumulates the
    deltas per index, as the API specifies (the openai SDK's stream helper, LangChain), then reads
    the name "get_weatherget_weather...". The same for the legacy function_call.
    """
    started = set()
    for chunk in chunks:
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            position = choice.get("index", 0)
            if delta.get("tool_calls"):
                calls = []
                for call in delta["tool_calls"]:
                    key = (position, call.get("index", 0))
                    if key in started:
                        call = {"index": call.get("index", 0), "function": {"arguments": (call.get("function") or {}).get("arguments") or ""}}
                    started.add(key)
                    calls.append(call)
                delta["tool_calls"] = calls
            if delta.get("function_call"):
                key = (position, "function_call")
                if key in started:
                    delta["function_call"] = {"arguments": delta["function_call"].get("arguments") or ""}
                started.add(key)
        yield chunk


def as_llama_cpp_response_format(response_format):
    """OpenAI's json_schema response_format as llama-cpp-python's json_object with a schema."""
    if not isinstance(response_format, dict) or response_format.get("type") != "json_schema":
        return response_format
    spec = response_format.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, dict) else None
    return {"type": "json_object", "schema": schema} if isinstance(schema, dict) else {"type": "json_object"}


TOOLS_PREAMBLE = (
    "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>{tools}\n</tools>"
)


def arguments_of(call):
    """A call's arguments as JSON, or as the text the client sent when that is not JSON (never a 500)."""
    text = call["function"].get("arguments") or "{}"
    try:
        return json.loads(text)
    except ValueError:
        return text


def with_tool_turns_as_text(messages):
    """A conversation's tool calls and results as text any chat format renders.

    llama-cpp-python's built-in chat formats (chatml, llama-2, gemma, ...) drop messages of role
    "tool" and render an assistant message that only carries tool_calls as empty, so the result a
    client sends back after a call never reached the model. They become the <tool_call> /
    <tool_response> text of templates/chat/ (the convention llama-server's templates use).
    """
    out = []
    for message in messages:
        role = message.get("role")
        if role == "assistant" and message.get("tool_calls"):
            calls = "".join(
                "\n<tool_call>\n"
                + json.dumps({"name": call["function"]["name"], "arguments": arguments_of(call)}, ensure_ascii=False)
                + "\n</tool_call>"
                for call in message["tool_calls"]
            )
            out.append({"role": "assistant", "content": ((message.get("content") or "") + calls).strip()})
        elif role == "tool":
            out.append({"role": "user", "content": f"<tool_response>\n{message.get('content') or ''}\n</tool_response>"})
        else:
            out.append(message)
    return out


def with_tools_described(messages, tools):
    """The tools in the system message, so that the model knows what it is choosing between."""
    described = "".join("\n" + json.dumps(tool, ensure_ascii=False) for tool in tools)
    preamble = TOOLS_PREAMBLE.format(tools=described)
    if messages and messages[0].get("role") == "system":
        return [{"role": "system", "content": f"{messages[0].get('content') or ''}\n\n{preamble}"}, *messages[1:]]
    return [{"role": "system", "content": preamble}, *messages]


def tool_calls_as_openai_asks():
    """`tool_choice: "required"` answers with a tool call; tool results reach the model.

    llama-cpp-python 0.3.x honours a named tool_choice (a grammar from that function's
    parameters) and ignores "required" on every built-in chat format: the model answered in prose.
    "required" with one tool is that tool named; with several, the model first picks one by name
    (a grammar of the names, the tools described), then that one is called as named.
    """
    import llama_cpp

    original = llama_cpp.Llama.create_chat_completion

    def create_chat_completion(self, *args, **kwargs):
        kwargs["response_format"] = as_llama_cpp_response_format(kwargs.get("response_format"))
        messages = kwargs.get("messages") or []
        if any(m.get("role") == "tool" or m.get("tool_calls") for m in messages if isinstance(m, dict)):
            kwargs["messages"] = messages = with_tool_turns_as_text(messages)
        tools = kwargs.get("tools") or []
        if kwargs.get("tool_choice") == "required" and tools:
            names = [tool["function"]["name"] for tool in tools]
            name = names[0]
            if len(names) > 1:
                choice = original(
                    self,
                    messages=with_tools_described(messages, tools),
                    response_format={"type": "json_object", "schema": {"type": "object", "properties": {"name": {"type": "string", "enum": names}}, "required": ["name"]}},
                    max_tokens=48,
                    temperature=0.0,
                    stream=False,
                )
                try:
                    name = json.loads(choice["choices"][0]["message"]["content"])["name"]
                except (ValueError, KeyError, TypeError):
                    pass
            kwargs["tool_choice"] = {"type": "function", "function": {"name": name}}
        named = kwargs.get("tool_choice")
        if isinstance(named, dict) and tools:
            name = (named.get("function") or {}).get("name")
            if name not in [tool["function"]["name"] for tool in tools]:
                raise RequestError(f'tool_choice names the function "{name}", which is not in tools', "tool_choice")
            kwargs["messages"] = with_tools_described(messages, tools)
        result = original(self, *args, **kwargs)
        return tool_calls_named_once(result) if kwargs.get("stream") else result

    llama_cpp.Llama.create_chat_completion = create_chat_completion


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
    request_models_as_openai_sends()  # before llama_cpp.server's request models are built
    client_errors_as_4xx()
    unreadable_bodies_as_4xx()  # before llama_cpp.server.app builds its routes
    tool_calls_as_openai_asks()
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
