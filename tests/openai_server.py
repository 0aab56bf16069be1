"""A local OpenAI-compatible HTTP server with fault injection, and its pytest fixture.

    def test_x(openai_server):
        openai_server.base_url            # "http://127.0.0.1:PORT/v1"
        openai_server.set_handler(lambda body: "a reply")   # or a dict (sent as JSON content)
        openai_server.inject("429", times=1)
        ... openai_server.requests        # every JSON body received (transcriptions: the form fields)

Endpoints: POST /v1/chat/completions (SSE streaming with a final usage chunk when
`stream_options.include_usage`, or one JSON reply with usage), GET /v1/models,
POST /v1/audio/transcriptions (multipart; returns {"text": ...}).

Faults (consumed by the next applicable request, FIFO): "429" (retry-after-ms: 1),
"500", "401" (echoes the key it got, like OpenAI does), "timeout" (sleeps `timeout_sleep_s` before replying), "stream_cut" (a few
deltas then the connection is dropped; non-streaming: dropped before replying),
"invalid_json", "refusal", "length", "no_json_schema" (HTTP 400 for json_schema
requests only), "no_json_object" (HTTP 400 for json_object requests only). "refused" cannot be served by a live server: use `refused_base_url`.
Seen on a real llama.cpp server (issue 14): "json_schema_500" (HTTP 500 for json_schema requests only, with
llama-cpp-python's kind of body), "slow" (streams one delta every `slow_delta_s`; counts in `.abandoned`
the streams whose client hung up before the end), "template_junk" (the reply wrapped in raw ChatML tokens, as a
server without a chat template sends it), "lecture" (a streamed multi-paragraph lecture with no question),
"linger" (a streamed reply whose body does not end after `data: [DONE]` until `linger_s` has passed, as a proxy
that holds the stream open does). `.connections` counts the TCP connections the server accepted (keep-alive reuse).
Nothing here touches the network beyond 127.0.0.1.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

FAULTS = ("429", "500", "401", "timeout", "refused", "stream_cut", "invalid_json", "refusal", "length", "no_json_schema",
          "no_json_object", "json_schema_500", "slow", "template_junk", "lecture", "linger")
LECTURE = (
    "Regularization is a broad family of techniques.\n\n"
    "1. L1 regularization adds the absolute values of the weights to the loss, which drives many weights to zero.\n"
    "2. L2 regularization adds the squared weights, which shrinks them smoothly.\n\n"
    "In practice you tune the strength on a validation set, and dropout and early stopping work as well."
)
MODELS = ("gpt-4o-mini", "local-model")

Handler = Callable[[dict[str, Any]], "str | dict[str, Any]"]


# ---------------------------------------------------------------- default replies


def minimal_instance(schema: dict[str, Any], root: dict[str, Any] | None = None) -> Any:
    """A minimal value valid for a JSON schema (required fields filled: "" / false / 0 / [] / {...})."""
    root = root if root is not None else schema
    if "$ref" in schema:
        ref = schema["$ref"]
        node: Any = root
        for part in ref.lstrip("#/").split("/"):
            if part:
                node = node[part]
        return minimal_instance(node, root)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = schema[key]
            non_null = [o for o in options if o.get("type") != "null"]
            return minimal_instance((non_null or options)[0], root)
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        props = schema.get("properties", {})
        required = schema.get("required", list(props))
        return {name: minimal_instance(props.get(name, {}), root) for name in required}
    if kind == "array":
        n = int(schema.get("minItems", 0))
        return [minimal_instance(schema.get("items", {}), root) for _ in range(n)]
    if kind == "string":
        n = int(schema.get("minLength", 0))
        if "pattern" in schema:
            return "a" * max(n, 1)
        return "x" * n
    if kind in ("integer", "number"):
        lo = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        value = max(0, lo)
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            value = schema["exclusiveMinimum"] + 1
        if "maximum" in schema:
            value = min(value, schema["maximum"])
        return int(value) if kind == "integer" else value
    if kind == "boolean":
        return False
    return None


_FENCED_JSON = re.compile(r"```json\s*\n(.*?)\n```", re.DOTALL)


def request_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON schema a request asks for: from response_format, else from a ```json block in the prompt."""
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        return (fmt.get("json_schema") or {}).get("schema") or {}
    for message in body.get("messages", []):
        content = message.get("content")
        if isinstance(content, str):
            m = _FENCED_JSON.search(content)
            if m:
                try:
                    return json.loads(m.group(1))
                except json.JSONDecodeError:
                    pass
    return {} if fmt.get("type") == "json_object" else None


def last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages", [])):
        if message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else json.dumps(content)
    return ""


def default_handler(body: dict[str, Any]) -> str | dict[str, Any]:
    schema = request_schema(body)
    if schema is not None:
        return minimal_instance(schema) if schema else {}
    words = last_user_text(body).split()
    gist = " ".join(words[:12])
    return f"Thanks. You said: {gist}" if gist else "Thanks. Please go on."


def rough_tokens(text: str) -> int:
    return len(text.split())


# ---------------------------------------------------------------- the server


class _QuietHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return  # a client that hung up (timeouts, cut streams, closed keep-alive sockets)
        super().handle_error(request, client_address)


class FakeOpenAIServer:
    def __init__(self, port: int = 0) -> None:
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []  # request headers, in order (to check what the client sent)
        self.paths: list[tuple[str, str]] = []
        self.handler: Handler = default_handler
        self.faults: list[list[Any]] = []  # [fault, remaining or None=forever]
        self.timeout_sleep_s = 2.0
        self.slow_delta_s = 0.2
        self.abandoned = 0  # streams the client closed before their end ("slow")
        self.linger_s = 30.0
        self.connections = 0  # TCP connections accepted
        self.cached_tokens = 0
        self.ignore_stream_options = False  # True: never send a usage chunk
        self.transcript = "I would use cross-validation."
        self.lock = threading.Lock()
        self._stopping = threading.Event()
        self.httpd = _QuietHTTPServer(("127.0.0.1", port), _make_request_handler(self))
        self.port = self.httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    # -- control
    def set_handler(self, fn: Handler | None) -> None:
        self.handler = fn or default_handler

    def inject(self, fault: str, times: int | None = 1) -> None:
        """Queue a fault for the next `times` applicable requests (None = every one)."""
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; one of {FAULTS}")
        if fault == "refused":
            raise ValueError("a live server cannot refuse connections: point the client at .refused_base_url")
        with self.lock:
            self.faults.append([fault, times])

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    @property
    def refused_base_url(self) -> str:
        """A base URL on 127.0.0.1 where nothing listens (connection refused)."""
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        return f"http://127.0.0.1:{port}/v1"

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if "messages" in r]

    def take_fault(self, body: dict[str, Any] | None) -> str | None:
        fmt_type = (body.get("response_format") or {}).get("type") if body else None
        with self.lock:
            for entry in self.faults:
                fault, remaining = entry
                if fault in ("no_json_schema", "json_schema_500") and fmt_type != "json_schema":
                    continue
                if fault == "no_json_object" and fmt_type != "json_object":
                    continue
                if fault in ("invalid_json", "refusal", "length", "stream_cut", "slow", "linger") and body is None:
                    continue
                if fault in ("lecture", "template_junk") and (body is None or request_schema(body) is not None):
                    continue  # interviewer replies only, not judge requests
                if remaining is not None:
                    entry[1] -= 1
                    if entry[1] <= 0:
                        self.faults.remove(entry)
                return fault
        return None

    def sleep(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    # -- lifecycle
    def start(self) -> "FakeOpenAIServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)


def _make_request_handler(server: FakeOpenAIServer) -> type[BaseHTTPRequestHandler]:
    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:  # once per TCP connection (a keep-alive connection serves many requests)
            with server.lock:
                server.connections += 1
            super().setup()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
            pass

        # -- plumbing
        def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()

        def _error(self, status: int, message: str, etype: str, *, param: str | None = None, code: str | None = None, headers: dict[str, str] | None = None) -> None:
            self._send_json(status, {"error": {"message": message, "type": etype, "param": param, "code": code}}, headers)

        def _drop(self) -> None:
            self.close_connection = True
            try:
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

        def _read_body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        # -- routes
        def do_GET(self) -> None:  # noqa: N802
            server.paths.append(("GET", self.path))
            if self.path.rstrip("/") == "/v1/models":
                self._send_json(
                    200,
                    {"object": "list", "data": [{"id": m, "object": "model", "created": 0, "owned_by": "local"} for m in MODELS]},
                )
            else:
                self._error(404, f"no route {self.path}", "not_found")

        def do_POST(self) -> None:  # noqa: N802
            server.paths.append(("POST", self.path))
            server.headers.append({k.lower(): v for k, v in self.headers.items()})
            raw = self._read_body()
            try:
                path = self.path.split("?")[0].rstrip("/")
                if path == "/v1/chat/completions":
                    self._chat(raw)
                elif path == "/v1/audio/transcriptions":
                    self._transcribe(raw)
                else:
                    self._error(404, f"no route {self.path}", "not_found")
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        def _generic_fault(self, fault: str | None) -> bool:
            """Serve 429 / 500 / timeout. Returns True when the request is fully answered."""
            if fault == "429":
                self._error(429, "Rate limit reached for requests", "requests", code="rate_limit_exceeded", headers={"retry-after-ms": "1"})
                return True
            if fault == "401":
                key = self.headers.get("Authorization", "").removeprefix("Bearer ")
                self._error(401, f"Incorrect API key provided: {key}.", "invalid_request_error", code="invalid_api_key")
                return True
            if fault == "500":
                self._error(500, "The server had an error while processing your request.", "server_error", headers={"retry-after-ms": "1"})
                return True
            if fault == "timeout":
                server.sleep(server.timeout_sleep_s)
            return False

        def _transcribe(self, raw: bytes) -> None:
            ctype = self.headers.get("Content-Type", "")
            msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + raw
            )
            form: dict[str, Any] = {}
            for part in msg.iter_parts() if msg.is_multipart() else []:
                name = part.get_param("name", header="content-disposition")
                filename = part.get_filename()
                payload = part.get_payload(decode=True) or b""
                if filename:
                    form[name] = {"filename": filename, "size": len(payload)}
                else:
                    form[name] = payload.decode()
            server.requests.append(form)
            if self._generic_fault(server.take_fault(None)):
                return
            self._send_json(200, {"text": server.transcript})

        def _chat(self, raw: bytes) -> None:
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError:
                self._error(400, "body is not JSON", "invalid_request_error")
                return
            server.requests.append(body)
            fault = server.take_fault(body)
            if self._generic_fault(fault):
                return
            if fault == "json_schema_500":
                # What llama-cpp-python 0.3.x answers to an OpenAI-style json_schema response_format.
                self._error(500, "'json_schema'", "internal_server_error")
                return
            if fault in ("no_json_schema", "no_json_object"):
                self._error(
                    400,
                    f"response_format of type {fault.removeprefix('no_')} is not supported by this server",
                    "invalid_request_error",
                    param="response_format",
                )
                return
            if fault == "stream_cut" and not body.get("stream"):
                self._drop()
                return

            refusal = None
            finish = "stop"
            if fault == "invalid_json":
                content: str | None = "Sure! Here is my answer: {not valid json"
            elif fault == "refusal":
                content, refusal = None, "I'm sorry, I can't help with that."
            elif fault == "lecture":
                content = LECTURE
            else:
                reply = server.handler(body)
                content = reply if isinstance(reply, str) else json.dumps(reply)
                if fault == "length":
                    content, finish = content[: max(1, len(content) // 2)], "length"
                if fault == "template_junk":
                    content = f"<|im_start|>assistant\n{content}<|im_end|>\n<|im_start|>user\n"

            prompt = sum(rough_tokens(str(m.get("content", ""))) + 3 for m in body.get("messages", [])) + 3
            completion = rough_tokens(content or refusal or "")
            usage = {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
                "prompt_tokens_details": {"cached_tokens": min(server.cached_tokens, prompt)},
            }
            model = body.get("model", "local-model")
            if fault == "slow" and not body.get("stream"):
                server.sleep(server.slow_delta_s * len(_pieces(content or "")))
            if body.get("stream"):
                self._stream(model, content, refusal, finish, usage, body, cut=(fault == "stream_cut"),
                             slow=(fault == "slow"), linger=(fault == "linger"))
            else:
                self._send_json(
                    200,
                    {
                        "id": "chatcmpl-local",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": model,
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": content, "refusal": refusal},
                                "finish_reason": finish,
                                "logprobs": None,
                            }
                        ],
                        "usage": usage,
                    },
                )

        def _chunk(self, data: str) -> None:
            raw = data.encode()
            self.wfile.write(f"{len(raw):x}\r\n".encode() + raw + b"\r\n")
            self.wfile.flush()

        def _stream(self, model: str, content: str | None, refusal: str | None, finish: str, usage: dict[str, Any], body: dict[str, Any], *, cut: bool, slow: bool = False, linger: bool = False) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()

            def event(delta: dict[str, Any], finish_reason: str | None = None, **extra: Any) -> None:
                payload = {
                    "id": "chatcmpl-local",
                    "object": "chat.completion.chunk",
                    "created": int(time.time()),
                    "model": model,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}],
                    **extra,
                }
                self._chunk(f"data: {json.dumps(payload)}\n\n")

            event({"role": "assistant", "content": ""})
            pieces = _pieces(content or "")
            if cut:
                for piece in pieces[: max(1, len(pieces) // 2)]:
                    event({"content": piece})
                self._drop()  # no terminating chunk: the client sees an incomplete body
                return
            if refusal:
                event({"refusal": refusal})
            for piece in pieces:
                if slow:
                    server.sleep(server.slow_delta_s)
                    try:
                        event({"content": piece})
                    except OSError:  # the client closed the request: stop "generating", like llama.cpp does
                        with server.lock:
                            server.abandoned += 1
                        self.close_connection = True
                        return
                    continue
                event({"content": piece})
            event({}, finish)
            wants_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            if wants_usage and not server.ignore_stream_options:
                payload = {
                    "id": "chatcmpl-local",
                    "object": "chat.completion.chunk",
                    "created": int(time.time()),
                    "model": model,
                    "choices": [],
                    "usage": usage,
                }
                self._chunk(f"data: {json.dumps(payload)}\n\n")
            self._chunk("data: [DONE]\n\n")
            if linger:  # the body goes on after [DONE]: a comment now and then, its end only after linger_s
                until = time.monotonic() + server.linger_s
                try:
                    while time.monotonic() < until and not server._stopping.is_set():
                        self._chunk(": keep-alive\n\n")
                        server.sleep(0.2)
                except OSError:  # the client closed the connection
                    self.close_connection = True
                    return
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

    return RequestHandler


def _pieces(text: str) -> list[str]:
    """Split a reply into small deltas (keeping whitespace) the way servers stream."""
    parts = re.findall(r"\S+\s*|\s+", text)
    return parts or ([text] if text else [])


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAIServer]:
    server = FakeOpenAIServer().start()
    try:
        yield server
    finally:
        server.stop()
