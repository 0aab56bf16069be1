"""The real model adapter: any OpenAI-compatible server through the `openai` SDK.

This is the ONLY module that imports `openai`. Everything else talks to
`interviewer.chat.ChatModel`; every failure leaves here as a `ModelError`
whose message is one plain sentence (never containing the API key).
"""

from __future__ import annotations

import contextlib
import heapq
import ipaddress
import json
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx2
import openai
from openai.types import CompletionUsage
from pydantic import BaseModel, ValidationError

from interviewer.capabilities import MODE_DESCRIPTIONS, ServerCapabilities
from interviewer.chat import ChatModel, Message, Usage
from interviewer.config import Settings
from interviewer.errors import ModelError, ModelRequestsBlocked
from interviewer.guard import TEMPLATE_ADVICE, TEMPLATE_JUNK
from interviewer.replies import ThinkFilter, describe_invalid, strip_think, validate_reply
from interviewer.tokens import count_messages, count_tokens, is_openai_server

__all__ = ["OpenAIChatModel", "ServerCapabilities", "ThinkFilter", "build_models", "is_loopback_url", "make_client", "strip_think"]

T = TypeVar("T", bound=BaseModel)

log = logging.getLogger(__name__)

OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"
BLOCK_ENV = "INTERVIEWER_BLOCK_REMOTE_MODELS"

# ---------------------------------------------------------------- helpers


def is_loopback_url(url: str) -> bool:
    """True when the URL's host is 127.0.0.0/8, ::1 or localhost."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def remote_models_blocked() -> bool:
    return os.environ.get(BLOCK_ENV, "").strip() == "1"


def _usage_from(api_usage: Any) -> Usage | None:
    if api_usage is None:
        return None
    if isinstance(api_usage, dict):  # a streamed chunk's usage, as the server sent it
        try:
            api_usage = CompletionUsage.model_validate(api_usage)
        except ValueError:
            return None
    details = getattr(api_usage, "prompt_tokens_details", None)
    cached = getattr(details, "cached_tokens", None) if details is not None else None
    return Usage(
        prompt_tokens=int(getattr(api_usage, "prompt_tokens", 0) or 0),
        completion_tokens=int(getattr(api_usage, "completion_tokens", 0) or 0),
        cached_tokens=int(cached or 0),
        counted=False,
    )


def _counted(payload: Sequence[Mapping[str, str]], reply: str) -> Usage:
    return Usage(prompt_tokens=count_messages(payload), completion_tokens=count_tokens(reply), counted=True)


def _server_message(exc: openai.APIStatusError) -> str:
    """The server's own error message, without the SDK's "Error code: 400 - {...}" wrapping."""
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return inner["message"]
        if isinstance(inner, str):
            return inner
    return re.sub(r"^Error code: \d+ - ", "", str(exc.message or ""))


def _mentions_structured_output(exc: openai.APIStatusError) -> bool:
    text = f"{exc.message} {exc.body!r} {getattr(exc, 'param', '')}".lower()
    return any(word in text for word in ("response_format", "json_schema", "json_object", "structured output", "guided_json"))


# ---------------------------------------------------------------- what a server can do


_WAV_HEADER = (  # 44 bytes: a valid, empty 16 kHz mono WAV, for probing the transcription endpoint
    b"RIFF$\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x80>\x00\x00\x00}\x00\x00\x02\x00\x10\x00data\x00\x00\x00\x00"
)
def _points_at_format(exc: openai.APIStatusError) -> bool:
    return exc.status_code in (400, 422, 500, 501) and _mentions_structured_output(exc)


def _retry_after(exc: BaseException, attempt: int) -> float:
    """Seconds to wait before retry `attempt` (1-based): the server's Retry-After, else 0.5 s, 1 s, 2 s ... (max 8)."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name) if hasattr(headers, "get") else None
        if value:
            try:
                return min(60.0, max(0.0, float(value) * scale))
            except ValueError:
                pass
    return min(8.0, 0.5 * 2 ** (attempt - 1))


def _retryable(exc: BaseException) -> bool:
    """429, 408, 409, 5xx and dropped connections are retried; timeouts never (the server may still be working)."""
    if isinstance(exc, (openai.APITimeoutError, httpx2.TimeoutException)):
        return False
    if isinstance(exc, openai.APIStatusError):
        if exc.status_code == 429 and (exc.code or "") == "insufficient_quota":
            return False
        return exc.status_code in (408, 409, 429) or exc.status_code >= 500
    return isinstance(exc, openai.APIConnectionError)


class _Alarms:
    """Calls due at a time, run by one daemon thread for the whole process. Arming a stream's deadline starts no
    thread: under load a new thread waits for the GIL behind every running session before `start()` returns (a
    threading.Timer per reply did that once per turn)."""

    def __init__(self) -> None:
        self._cv = threading.Condition()
        self._due: list[list[Any]] = []  # heap of [when, seq, callback or None once cancelled]
        self._seq = 0
        self._thread: threading.Thread | None = None

    def call_later(self, seconds: float, callback: Callable[[], None]) -> list[Any]:
        """Run `callback` in `seconds`; returns a handle for `cancel`."""
        with self._cv:
            self._seq += 1
            entry = [time.monotonic() + seconds, self._seq, callback]
            heapq.heappush(self._due, entry)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="interviewer-alarms", daemon=True)
                self._thread.start()
            elif self._due[0] is entry:
                self._cv.notify()  # sooner than what the thread sleeps for
            return entry

    @staticmethod
    def cancel(entry: list[Any]) -> None:
        entry[2] = None  # dropped when it comes due

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._due or self._due[0][0] > time.monotonic():
                    self._cv.wait(self._due[0][0] - time.monotonic() if self._due else None)
                callback = heapq.heappop(self._due)[2]
            if callback is not None:
                try:
                    callback()
                except Exception:  # noqa: BLE001 - an alarm must not end the thread that runs every other one
                    log.exception("an alarm failed")


_ALARMS = _Alarms()


class _Deadline:
    """Closes a streaming response when a wall-clock limit passes, so the server stops working on it."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._alarm: list[Any] | None = None
        self._response: Any = None

    def arm(self, stream: Any) -> None:
        self._response = getattr(stream, "response", None)
        self._alarm = _ALARMS.call_later(self.seconds, self._fire)

    def _fire(self) -> None:
        self.expired = True
        abort_response(self._response)

    def disarm(self) -> None:
        if self._alarm is not None:
            _ALARMS.cancel(self._alarm)


DRAIN_S = 1.0  # how long a reply's body may go on after [DONE] before its connection is closed instead of reused

_T = TypeVar("_T")


class _PooledStream(openai.Stream[_T]):
    """openai.Stream that reads the body to its end after `data: [DONE]`, so the connection goes back to the pool.

    openai's Stream stops reading at [DONE] and closes the response before the HTTP/1.1 chunked body has ended,
    and httpcore then drops the connection: every reply opened a new one (a new TLS handshake with a remote API).
    The end follows [DONE] at once from a healthy server; one that holds the stream open gets `DRAIN_S`, then the
    connection is closed as before. (openai/openai-python#3440; the hook is `_iter_events`, which both the SDK's
    `__stream__` and this class read.)"""

    def _iter_events(self) -> Iterator[Any]:
        events = super()._iter_events()
        for sse in events:
            if sse.data.startswith("[DONE]"):
                alarm = _ALARMS.call_later(DRAIN_S, lambda: abort_response(self.response))
                try:
                    for _ in events:  # anything after [DONE] is not part of the reply
                        pass
                except Exception:  # noqa: BLE001 - [DONE] ended the reply; a failed drain only costs the connection
                    pass
                finally:
                    _ALARMS.cancel(alarm)
            yield sse


def abort_response(response: Any) -> None:
    """Close an HTTP response now, from any thread: shut the socket down (wakes a blocked read, sends FIN)."""
    if response is None:
        return
    try:
        network = (getattr(response, "extensions", None) or {}).get("network_stream")
        sock = network.get_extra_info("socket") if network is not None else None
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
    except (OSError, AttributeError):
        pass
    try:
        response.close()
    except Exception:  # noqa: BLE001 - closing a response another thread is reading
        pass


# ---------------------------------------------------------------- the adapter


class OpenAIChatModel:
    """A `ChatModel` over an OpenAI-compatible chat-completions API.

    Every call has a wall-clock limit (`timeout_s`: the interviewer's or the judge's); a call that
    reaches it is closed and not retried. Rate limits, 5xx and dropped connections are retried up
    to `settings.max_retries` times (Retry-After honoured). Structured output adapts to the server
    (see `interviewer.capabilities.MODES`); what was learned is kept in `capabilities`, shared with the other model.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        model: str | None = None,
        timeout_s: float | None = None,
        capabilities: ServerCapabilities | None = None,
        http_client: httpx2.Client | None = None,
        client: openai.OpenAI | None = None,
    ) -> None:
        self.settings = settings
        self.name: str = model or settings.model
        self.timeout_s: float = float(timeout_s or settings.timeout_s)
        self.last_usage: Usage | None = None
        self.base_url: str = settings.base_url or OPENAI_DEFAULT_BASE_URL
        self.capabilities = capabilities or ServerCapabilities()
        self._progress = threading.local()  # per thread: the app's models are shared by every user
        self.template_junk_seen = False
        self._client = (client or make_client(settings, timeout_s=self.timeout_s, http_client=http_client)
                        ).with_options(timeout=self.timeout_s, max_retries=0)

    def __repr__(self) -> str:
        return f"OpenAIChatModel(name={self.name!r}, server={self.server_label!r})"

    # ------------------------------------------------------------ small parts

    @property
    def server_label(self) -> str:
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"

    @property
    def structured_mode(self) -> str:
        """"json_schema", "json_object_schema", "json_object" or "prompt": how `parse` asks for JSON now."""
        return self.capabilities.mode

    @property
    def structured_fallback(self) -> str | None:
        """Why the server is not asked for `json_schema` (None when it is)."""
        return self.capabilities.fallback_reason

    def _guard(self) -> None:
        if remote_models_blocked() and not is_loopback_url(self.base_url):
            raise ModelRequestsBlocked(self.server_label)

    def _max_tokens_kwargs(self, max_tokens: int | None) -> dict[str, int]:
        if not max_tokens:
            return {}
        key = "max_completion_tokens" if is_openai_server(self.settings.base_url) else "max_tokens"
        return {key: int(max_tokens)}

    @staticmethod
    def _payload(messages: Sequence[Message | Mapping[str, str]]) -> list[dict[str, str]]:
        out = []
        for m in messages:
            if isinstance(m, Message):
                out.append({"role": m.role, "content": m.content})
            else:
                out.append({"role": str(m["role"]), "content": str(m["content"])})
        return out

    def _redact(self, text: str) -> str:
        key = self.settings.api_key.get_secret_value() if self.settings.api_key is not None else ""
        if len(key) >= 4:
            text = text.replace(key, "[redacted]")
        return re.sub(r"\bsk-[A-Za-z0-9_\-*.]{6,}", "sk-[redacted]", text)

    def _fail(self, kind: str, message: str) -> ModelError:
        err = ModelError(kind, self._redact(message))
        log.info("model call failed (%s): %s", kind, err)
        return err

    def _timed_out(self) -> ModelError:
        which = "INTERVIEWER_JUDGE_TIMEOUT_S" if self.timeout_s == self.settings.judge_timeout_s and \
            self.timeout_s != self.settings.timeout_s else "INTERVIEWER_TIMEOUT_S"
        return self._fail(
            "timeout",
            f"The model server at {self.server_label} did not finish within {self.timeout_s:g} seconds, so the "
            f"request was closed; try again, or raise {which}.",
        )

    def _error(self, exc: BaseException) -> ModelError:
        """Map any SDK / transport exception to a ModelError with one plain sentence."""
        if isinstance(exc, ModelError):
            return exc
        server = self.server_label
        if isinstance(exc, (openai.APITimeoutError, httpx2.TimeoutException)):
            return self._timed_out()
        if isinstance(exc, (openai.APIConnectionError, httpx2.TransportError)):
            return self._fail("connection", f"Could not reach the model server at {server}. Is it running?")
        if isinstance(exc, openai.LengthFinishReasonError):
            return self._truncated()
        if isinstance(exc, openai.ContentFilterFinishReasonError):
            return self._refusal()
        if isinstance(exc, openai.APIStatusError):
            code = exc.status_code
            if code == 429:
                if (exc.code or "") == "insufficient_quota":
                    return self._fail(
                        "rate_limited",
                        "The API account has run out of credit (HTTP 429, insufficient quota); check its billing.",
                    )
                return self._fail(
                    "rate_limited",
                    "The model server is rate-limiting requests (HTTP 429). Wait a moment and retry.",
                )
            if code == 401:
                return self._fail("auth", "The API key was rejected (HTTP 401); check OPENAI_API_KEY.")
            if code == 403:
                return self._fail(
                    "auth", f"The model server refused access to model {self.name} with this API key (HTTP 403)."
                )
            if code == 404:
                return self._fail(
                    "bad_request",
                    f"The model server at {server} does not offer model {self.name} (HTTP 404); "
                    "check INTERVIEWER_MODEL and OPENAI_BASE_URL.",
                )
            if code == 408:
                return self._fail("timeout", f"The model server at {server} timed out (HTTP 408); try again.")
            if code >= 500 or code == 409:
                return self._fail(
                    "server_error", f"The model server had an internal error (HTTP {code}); try again in a moment."
                )
            detail = " ".join(_server_message(exc).split())[:200].rstrip(".")
            return self._fail("bad_request", f"The model server rejected the request (HTTP {code}): {detail}.")
        if isinstance(exc, openai.APIResponseValidationError):
            return self._fail("server_error", "The model server sent a reply in an unexpected format.")
        if isinstance(exc, openai.APIError):
            return self._fail("server_error", "The model server reported an error; try again in a moment.")
        return self._fail("server_error", f"The model call failed unexpectedly ({type(exc).__name__}).")

    def _truncated(self) -> ModelError:
        return self._fail(
            "truncated", "The model's reply was cut off because it reached its length limit; try again or shorten the request."
        )

    def _refusal(self) -> ModelError:
        return self._fail("refusal", "The model declined to answer this request.")

    def _with_retries(self, call: Callable[[], Any], *, retry_5xx: bool = True) -> Any:
        """Run `call`, retrying what `_retryable` allows, within `max_retries` and this call's time limit.

        `retry_5xx=False` for a structured-output mode the server never answered: its 5xx falls back at once.
        """
        retries = self.settings.max_retries
        started = time.monotonic()
        for attempt in range(retries + 1):
            try:
                return call()
            except Exception as exc:  # noqa: BLE001 - re-raised unless retryable
                wait = _retry_after(exc, attempt + 1)
                if not retry_5xx and isinstance(exc, openai.APIStatusError) and exc.status_code >= 500:
                    raise
                if attempt >= retries or not _retryable(exc) or time.monotonic() - started + wait > self.timeout_s:
                    raise
                log.info("retrying after %s (attempt %d of %d, %.1f s)", type(exc).__name__, attempt + 1, retries, wait)
                time.sleep(wait)
        raise AssertionError("unreachable")

    @contextlib.contextmanager
    def watch_progress(self, callback: Callable[[float, int], None]) -> Iterator[None]:
        """Within the block, streamed calls made by THIS thread report (elapsed s, characters received)."""
        previous = getattr(self._progress, "callback", None)
        self._progress.callback = callback
        try:
            yield
        finally:
            self._progress.callback = previous

    # ------------------------------------------------------------ streaming

    def _open_stream(self, kwargs: dict[str, Any], *, retry_5xx: bool = True) -> Any:
        """The streamed chat completion, its chunks as plain dicts (the JSON the server sent).

        The request goes through the client's own `post` (same errors, retries, headers) rather than
        `chat.completions.create`: that one walks the whole message list through its TypedDict transform
        and builds a pydantic object for every chunk, which was about a fifth of the app server's CPU per turn.
        """
        def create(body: dict[str, Any]) -> Any:
            return self._client.post("/chat/completions", body=body, cast_to=object, stream=True,
                                     stream_cls=_PooledStream[object])

        def open_it() -> Any:
            try:
                return create({**kwargs, "stream": True, "stream_options": {"include_usage": True}})
            except openai.BadRequestError as exc:
                if "stream_options" not in f"{exc.message} {exc.body!r}".lower():
                    raise
                log.info("server rejected stream_options; streaming without usage (tokens will be counted)")
                return create({**kwargs, "stream": True})

        return self._with_retries(open_it, retry_5xx=retry_5xx)

    def _deltas(self, stream: Any, deadline: _Deadline, state: dict[str, Any]) -> Iterator[str]:
        """The content deltas of choice 0; records usage, finish reason and refusal in `state`."""
        started = time.monotonic()
        received = 0
        deadline.arm(stream)
        try:
            for chunk in stream:
                if not isinstance(chunk, dict):
                    continue
                if chunk.get("usage") is not None:
                    state["usage"] = chunk["usage"]
                for choice in chunk.get("choices") or []:
                    if (choice.get("index") or 0) != 0:
                        continue
                    delta = choice.get("delta") or {}
                    if delta.get("refusal"):
                        state["refusal"].append(delta["refusal"])
                    if choice.get("finish_reason"):
                        state["finish"] = choice["finish_reason"]
                    content = delta.get("content")
                    if content and isinstance(content, str):
                        received += len(content)
                        callback = getattr(self._progress, "callback", None)
                        if callback is not None:
                            callback(time.monotonic() - started, received)
                        yield content
                if deadline.expired:
                    raise httpx2.ReadTimeout("deadline")
        finally:
            deadline.disarm()
            try:
                stream.close()
            except Exception:  # noqa: BLE001 - closing a dead stream
                pass

    def stream_text(self, messages: Sequence[Message], *, max_tokens: int | None = None) -> Iterator[str]:
        """Yield the visible reply as it arrives (reasoning blocks removed).

        Raises ModelError: "stream_interrupted" if the stream dies midway (with
        `.partial`, the text already yielded), "truncated" at the length limit
        (also with `.partial`), "timeout" past `timeout_s` (the request is
        closed), "refusal", or the mapped request errors. `last_usage` is set
        in every case, so the tokens of a failed or abandoned reply still count.
        Closing the generator early closes the request too.
        """
        self._guard()
        self.last_usage = None
        payload = self._payload(messages)
        log.debug("streaming from %s model=%s (%d messages)", self.server_label, self.name, len(payload))
        kwargs: dict[str, Any] = {"model": self.name, "messages": payload, **self._max_tokens_kwargs(max_tokens)}
        try:
            stream = self._open_stream(kwargs)
        except Exception as exc:  # noqa: BLE001 - mapped to a ModelError
            raise self._error(exc) from None

        filt = ThinkFilter()
        raw: list[str] = []
        shown: list[str] = []
        state: dict[str, Any] = {"usage": None, "finish": None, "refusal": []}
        deadline = _Deadline(self.timeout_s)
        completed = False
        try:
            try:
                for content in self._deltas(stream, deadline, state):
                    raw.append(content)
                    if TEMPLATE_JUNK.search("".join(raw[-3:])):
                        self.template_junk_seen = True
                    visible = filt.feed(content)
                    if visible:
                        shown.append(visible)
                        yield visible
                completed = True
            except (openai.OpenAIError, httpx2.HTTPError, OSError) as exc:
                partial = "".join(shown)
                if deadline.expired:
                    err = self._timed_out()
                elif partial or raw:
                    err = self._fail(
                        "stream_interrupted",
                        "The connection to the model server dropped midway through its reply; please retry.",
                    )
                else:
                    err = self._error(exc)
                err.partial = partial  # type: ignore[attr-defined]
                raise err from None
        finally:
            # Every call's tokens count, also a reply cut short by the caller, a timeout or a dropped stream.
            if self.last_usage is None:
                self.last_usage = (_usage_from(state["usage"]) if completed else None) or _counted(payload, "".join(raw))

        tail = filt.flush()
        if tail:
            shown.append(tail)
            yield tail
        if state["finish"] == "length":
            err = self._truncated()
            err.partial = "".join(shown)  # type: ignore[attr-defined]
            raise err
        if (state["refusal"] and not shown) or state["finish"] == "content_filter":
            raise self._refusal()

    # ------------------------------------------------------------ parse

    @staticmethod
    def _json_schema(output_type: type[BaseModel]) -> dict[str, Any]:
        """The schema for JSON mode and the prompt: the type's own `grammar_schema()` when it has a tighter one."""
        tighter = getattr(output_type, "grammar_schema", None)
        return tighter() if callable(tighter) else output_type.model_json_schema()

    def _schema_instruction(self, output_type: type[BaseModel]) -> str:
        schema = json.dumps(self._json_schema(output_type), indent=1)
        return (
            "Reply with only one JSON object (no prose, no code fences) that is valid for this JSON schema:\n"
            f"```json\n{schema}\n```"
        )

    def _with_schema_prompt(self, payload: list[dict[str, str]], output_type: type[BaseModel]) -> list[dict[str, str]]:
        instruction = self._schema_instruction(output_type)
        out = [dict(m) for m in payload]
        if out and out[0]["role"] == "system":
            out[0]["content"] = f"{out[0]['content']}\n\n{instruction}"
        else:
            out.insert(0, {"role": "system", "content": instruction})
        return out

    def _judge_sampling(self) -> dict[str, Any]:
        """Structured replies (the judge's verdicts) are sampled greedily on self-hosted servers, so the same
        answer gets the same verdict (llama.cpp's server samples at 0.8 by default). OpenAI's own API keeps its
        default: its reasoning models accept no other temperature."""
        return {} if is_openai_server(self.settings.base_url) else {"temperature": 0}

    def _structured_call(self, payload: list[dict[str, str]], output_type: type[T]) -> tuple[T | None, str, Usage]:
        """One request for structured output: (parsed object or None, raw content, usage).

        A mode the server refuses (an error that points at the response format, of any status,
        or any 5xx before the mode ever worked) is dropped for the rest of the session and the
        next one is tried at once.
        """
        caps = self.capabilities
        tentative: int | None = None  # the mode index left after a bare 5xx, until the next mode answers
        while True:
            mode, confirmed = caps.mode, caps.confirmed
            retry_5xx = confirmed  # a 5xx on an untried mode falls back at once
            try:
                if mode == "json_schema":
                    result = self._call_json_schema(payload, output_type, retry_5xx=retry_5xx)
                else:
                    result = self._call_json_text(payload, output_type, mode, retry_5xx=retry_5xx)
            except openai.APIStatusError as exc:
                named = _points_at_format(exc)
                bare_5xx = exc.status_code >= 500 and not confirmed and not named
                if tentative is not None and bare_5xx:
                    caps.undo(tentative)  # two modes, two 5xx: the server is failing, not the format
                    raise
                if caps.can_fall_back and (named or bare_5xx):
                    reason = f"HTTP {exc.status_code}: {' '.join(_server_message(exc).split())[:120]}"
                    if bare_5xx:
                        tentative = caps.mode_index
                    caps.fall_back(mode, reason)
                    log.warning("%s refused structured output mode %s (%s); now %s",
                                self.server_label, mode, reason, caps.mode)
                    continue
                raise
            caps.confirm(mode)
            return result

    def _call_json_schema(
        self, payload: list[dict[str, str]], output_type: type[T], *, retry_5xx: bool
    ) -> tuple[T | None, str, Usage]:
        raw = self._with_retries(
            lambda: self._client.chat.completions.with_raw_response.parse(
                model=self.name, messages=payload, response_format=output_type,  # type: ignore[arg-type]
                **self._judge_sampling(),
            ),
            retry_5xx=retry_5xx,
        )
        try:
            completion = raw.parse()
        except (ValidationError, ValueError):
            # Content the SDK could not validate (e.g. with a <think> block): validate it ourselves.
            body = raw.http_response.json()
            choice = (body.get("choices") or [{}])[0]
            message = choice.get("message") or {}
            usage = _usage_from(CompletionUsage.model_validate(body["usage"])) if body.get("usage") else None
            content = message.get("content") or ""
            self._call_usage = usage or _counted(payload, content)
            if message.get("refusal") and not message.get("content"):
                raise self._refusal() from None
            return None, content, self._call_usage
        choice = completion.choices[0]
        message = choice.message
        content = message.content or ""
        self._call_usage = _usage_from(completion.usage) or _counted(payload, content)
        if message.refusal:
            raise self._refusal()
        return message.parsed, content, self._call_usage

    def _call_json_text(
        self, payload: list[dict[str, str]], output_type: type[T], mode: str, *, retry_5xx: bool
    ) -> tuple[T | None, str, Usage]:
        """JSON mode or plain text, STREAMED: the time limit can close it, and the server then stops."""
        messages = self._with_schema_prompt(payload, output_type)
        kwargs: dict[str, Any] = {"model": self.name, "messages": messages, **self._judge_sampling()}
        if mode == "json_object_schema":
            kwargs["response_format"] = {"type": "json_object", "schema": self._json_schema(output_type)}
        elif mode == "json_object":
            kwargs["response_format"] = {"type": "json_object"}
        stream = self._open_stream(kwargs, retry_5xx=retry_5xx)
        state: dict[str, Any] = {"usage": None, "finish": None, "refusal": []}
        deadline = _Deadline(self.timeout_s)
        parts: list[str] = []
        completed = False
        try:
            for content in self._deltas(stream, deadline, state):
                parts.append(content)
            completed = True
        except (openai.OpenAIError, httpx2.HTTPError, OSError) as exc:
            if deadline.expired:
                raise self._timed_out() from None
            raise self._error(exc) from None
        finally:
            content = "".join(parts)
            self._call_usage = (_usage_from(state["usage"]) if completed else None) or _counted(messages, content)
        if state["finish"] == "length":
            raise self._truncated()
        if state["finish"] == "content_filter" or (state["refusal"] and not content):
            raise self._refusal()
        return None, content, self._call_usage

    def parse(self, messages: Sequence[Message], output_type: type[T]) -> T:
        """Ask for a reply valid for `output_type` and return it validated.

        An invalid reply is retried once with the validation error appended;
        a second invalid reply raises ModelError("invalid_output"). `last_usage`
        counts every request made, failed and truncated ones included.
        """
        self._guard()
        self.last_usage = None
        payload = self._payload(messages)
        log.debug("parse %s from %s model=%s mode=%s", output_type.__name__, self.server_label, self.name, self.structured_mode)
        total: Usage | None = None

        def add(usage: Usage | None) -> None:
            nonlocal total
            if usage is not None:
                total = usage if total is None else total + usage
            self.last_usage = total

        for attempt in (1, 2):
            self._call_usage = None  # type: ignore[assignment]  # set by the call below
            try:
                parsed, content, usage = self._structured_call(payload, output_type)
            except ModelError:
                add(self._call_usage)
                raise
            except Exception as exc:  # noqa: BLE001 - mapped to a ModelError
                add(self._call_usage)
                raise self._error(exc) from None
            add(usage)
            if parsed is not None:
                return parsed
            try:
                return validate_reply(content, output_type)
            except (ValidationError, ValueError) as exc:
                problem = describe_invalid(exc)
                log.info("invalid structured reply (attempt %d): %s", attempt, problem)
                payload = payload + [
                    {"role": "assistant", "content": content},
                    {
                        "role": "user",
                        "content": (
                            f"Your reply was not valid JSON for the required schema ({problem}). "
                            "Reply again with only the corrected JSON object."
                        ),
                    },
                ]
        err = self._fail(
            "invalid_output",
            "The model's reply was not in the expected format, even after one retry; try again or use a stronger model.",
        )
        err.retried = True  # type: ignore[attr-defined]  # callers must not ask again: this adapter already re-asked with the error
        raise err

    # ------------------------------------------------------------ speech

    def _no_transcription(self) -> ModelError:
        self.capabilities.transcription = False
        return self._fail(
            "unsupported",
            f"The model server at {self.server_label} offers no speech-to-text endpoint, so answers must be typed.",
        )

    def transcribe(self, audio: bytes, filename: str) -> str:
        """Speech to text (voice answers) with `settings.transcribe_model`."""
        self._guard()
        try:
            result = self._with_retries(lambda: self._client.audio.transcriptions.create(
                model=self.settings.transcribe_model, file=(filename, audio)
            ))
        except openai.APIStatusError as exc:
            if exc.status_code in (404, 405, 501) and not _mentions_model(exc, self.settings.transcribe_model):
                raise self._no_transcription() from None
            raise self._error(exc) from None
        except Exception as exc:  # noqa: BLE001 - mapped to a ModelError
            raise self._error(exc) from None
        self.capabilities.transcription = True
        text = result if isinstance(result, str) else getattr(result, "text", "")
        return (text or "").strip()

    def supports_transcription(self) -> bool:
        """Whether the server has a transcription endpoint: probed once (with an empty WAV), then remembered."""
        caps = self.capabilities
        if caps.transcription is None:
            try:
                self._guard()
                self._client.with_options(timeout=min(self.timeout_s, 15.0)).audio.transcriptions.create(
                    model=self.settings.transcribe_model, file=("probe.wav", _WAV_HEADER)
                )
                caps.transcription = True
            except openai.APIStatusError as exc:
                # 404/405/501: no such endpoint. 400/422 (an empty file refused) means the endpoint exists.
                caps.transcription = exc.status_code not in (404, 405, 501) or _mentions_model(
                    exc, self.settings.transcribe_model)
                if exc.status_code in (401, 403):
                    caps.transcription = False
            except Exception:  # noqa: BLE001 - unreachable server: no microphone
                return False
        return bool(caps.transcription)

    # ------------------------------------------------------------ connection check

    def check_connection(self) -> str:
        """One plain sentence: connected (with the models offered), or what failed. Never raises."""
        try:
            self._guard()
        except ModelRequestsBlocked as exc:
            return str(exc)
        server = self.server_label
        client = self._client.with_options(timeout=min(self.timeout_s, 15.0), max_retries=0)
        try:
            ids = [m.id for m in client.models.list()]
        except (openai.NotFoundError, openai.APIStatusError) as exc:
            if isinstance(exc, openai.APIStatusError) and exc.status_code not in (404, 405, 501):
                return str(self._error(exc))
            ids = None
        except Exception as exc:  # noqa: BLE001
            return str(self._error(exc))
        if ids:
            shown = ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
            there = "is" if self.name in ids else "is NOT"
            return f"Connected to {server}: it offers {shown}; the configured model {self.name} {there} among them."
        try:
            client.chat.completions.create(  # type: ignore[call-overload]
                model=self.name,
                messages=[{"role": "user", "content": "Reply with the single word OK."}],
                **self._max_tokens_kwargs(5),
            )
        except Exception as exc:  # noqa: BLE001
            return str(self._error(exc))
        return f"Connected to {server}: model {self.name} answered a test request."

    def check_capabilities(self) -> dict[str, str]:
        """Settings' *Test connection*: one plain sentence each for "server", "chat", "structured" and
        "transcription". Makes a few tiny requests; never raises."""
        out = {"server": self.check_connection()}
        try:
            reply = "".join(self.stream_text(
                [Message(role="user", content="Reply with one short sentence: what is 2 + 2?")], max_tokens=24))
            if TEMPLATE_JUNK.search(reply) or self.template_junk_seen:
                out["chat"] = f"Chat: model {self.name} answered, but with raw template text. {TEMPLATE_ADVICE}"
            else:
                out["chat"] = f"Chat: model {self.name} answered ({_short(reply)})."
        except ModelError as exc:
            out["chat"] = f"Chat: {exc}"
        try:
            self.parse([Message(role="user", content="Is 2 + 2 equal to 4? Answer in JSON.")], _Probe)
            how = MODE_DESCRIPTIONS
            note = f" (it refused: {self.structured_fallback})" if self.structured_fallback else ""
            out["structured"] = f"Structured output: works as {how[self.structured_mode]}{note}."
        except ModelError as exc:
            out["structured"] = f"Structured output: failed ({exc}) The judge will fall back to the offline estimate."
        if self.supports_transcription():
            out["transcription"] = "Transcription: the server offers speech-to-text, so the microphone is shown."
        else:
            out["transcription"] = "Transcription: not offered by this server, so answers are typed (no microphone)."
        return out


class _Probe(BaseModel):
    answer: bool


def _short(text: str, n: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "\u2026"


def _mentions_model(exc: openai.APIStatusError, model: str) -> bool:
    """True when a 404 is about the model (the endpoint exists), not about the route."""
    text = f"{exc.message} {exc.body!r}".lower()
    return "model" in text and model.lower() in text


def warm_up() -> None:
    """Import what the client loads lazily on its first use of a feature (the audio types: the microphone's
    probe on the first answer), so that a background thread, not a user's turn, pays for it."""
    import openai.resources.audio.audio  # noqa: F401 - transcriptions, translations, speech and their types


def make_client(settings: Settings, *, timeout_s: float | None = None,
                http_client: httpx2.Client | None = None) -> openai.OpenAI:
    """An OpenAI client for the configured server and key (its own HTTP connection pool unless `http_client`)."""
    return openai.OpenAI(
        api_key=settings.client_api_key,
        base_url=settings.base_url or OPENAI_DEFAULT_BASE_URL,
        timeout=float(timeout_s or settings.timeout_s),
        max_retries=0,  # retries are ours: never after a timeout
        http_client=http_client,
    )


def build_models(
    settings: Settings, *, http_client: httpx2.Client | None = None, client: openai.OpenAI | None = None,
    capabilities: ServerCapabilities | None = None,
) -> tuple[ChatModel | None, ChatModel | None]:
    """(interviewer, judge) models; (None, None) when offline. They share one HTTP client and what was
    learned about the server (structured-output mode, transcription); each has its own time limit.

    Pass `client` (from `make_client`) and `capabilities` to share them wider, e.g. by every browser session
    of the app talking to the same server: a new client costs tens of ms of CPU (its TLS context), and
    each new `ServerCapabilities` probes the server again.
    """
    if settings.offline:
        return None, None
    caps = capabilities if capabilities is not None else ServerCapabilities()
    interviewer = OpenAIChatModel(settings, model=settings.model, capabilities=caps, http_client=http_client,
                                  client=client)
    judge = OpenAIChatModel(settings, model=settings.judge_model, timeout_s=settings.judge_timeout_s,
                            capabilities=caps, client=interviewer._client)
    return interviewer, judge
