"""The real model adapter: any OpenAI-compatible server through the `openai` SDK.

This is the ONLY module that imports `openai`. Everything else talks to
`interviewer.chat.ChatModel`; every failure leaves here as a `ModelError`
whose message is one plain sentence (never containing the API key).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx2
import openai
from openai.types import CompletionUsage
from pydantic import BaseModel, ValidationError

from interviewer.chat import ChatModel, Message, Usage
from interviewer.config import Settings
from interviewer.errors import ModelError, ModelRequestsBlocked
from interviewer.tokens import count_messages, count_tokens, is_openai_server

T = TypeVar("T", bound=BaseModel)

log = logging.getLogger(__name__)

OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"
BLOCK_ENV = "INTERVIEWER_BLOCK_REMOTE_MODELS"

# Structured-output modes, tried in this order; a server that rejects one moves to the next.
_MODES = ("json_schema", "json_object", "prompt")


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


_THINK_BLOCK = re.compile(r"<think>.*?(?:</think>|\Z)", re.DOTALL | re.IGNORECASE)


def strip_think(text: str) -> str:
    """Remove `<think>...</think>` reasoning blocks (and an unclosed one at the end).

    Some servers drop the opening tag and send only `...</think>answer`: then
    everything up to the last `</think>` is reasoning too.
    """
    text = _THINK_BLOCK.sub("", text)
    low = text.lower()
    if "</think>" in low:
        text = text[low.rindex("</think>") + len("</think>") :]
    return text.strip()


class ThinkFilter:
    """Streaming version of `strip_think`: feed deltas, get the visible text.

    Tags split across deltas are handled; text inside a reasoning block is never
    emitted; leading whitespace of the reply is dropped.
    """

    OPEN = "<think>"
    CLOSE = "</think>"

    def __init__(self) -> None:
        self._buf = ""
        self._inside = False
        self._started = False

    @staticmethod
    def _partial_suffix(buf: str, tag: str) -> int:
        """Length of the longest suffix of `buf` that is a proper prefix of `tag`."""
        low = buf.lower()
        for n in range(min(len(tag) - 1, len(buf)), 0, -1):
            if low.endswith(tag[:n]):
                return n
        return 0

    def _emit(self, text: str) -> str:
        if not self._started:
            text = text.lstrip()
            if text:
                self._started = True
        return text

    def feed(self, text: str) -> str:
        self._buf += text
        out: list[str] = []
        while True:
            low = self._buf.lower()
            if self._inside:
                i = low.find(self.CLOSE)
                if i < 0:
                    keep = self._partial_suffix(self._buf, self.CLOSE)
                    self._buf = self._buf[len(self._buf) - keep :]
                    break
                self._buf = self._buf[i + len(self.CLOSE) :]
                self._inside = False
            else:
                i = low.find(self.OPEN)
                if i < 0:
                    keep = self._partial_suffix(self._buf, self.OPEN)
                    out.append(self._buf[: len(self._buf) - keep])
                    self._buf = self._buf[len(self._buf) - keep :]
                    break
                out.append(self._buf[:i])
                self._buf = self._buf[i + len(self.OPEN) :]
                self._inside = True
        return self._emit("".join(out))

    def flush(self) -> str:
        rest, self._buf = ("" if self._inside else self._buf), ""
        return self._emit(rest)


def _usage_from(api_usage: Any) -> Usage | None:
    if api_usage is None:
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


def _strip_fences(text: str) -> str:
    text = text.strip()
    m = re.match(r"^```[a-zA-Z0-9_-]*\s*\n(.*?)\n?```\s*$", text, re.DOTALL)
    return m.group(1).strip() if m else text


def _validate(content: str | None, output_type: type[T]) -> T:
    text = _strip_fences(strip_think(content or ""))
    if not text:
        raise ValueError("the reply was empty")
    try:
        return output_type.model_validate_json(text)
    except ValidationError:
        start, end = text.find("{"), text.rfind("}")
        if 0 <= start < end and (start, end) != (0, len(text) - 1):
            try:
                return output_type.model_validate_json(text[start : end + 1])
            except ValidationError:
                pass
        raise


def _describe_invalid(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors(include_url=False)[:5]:
            loc = ".".join(str(p) for p in err.get("loc", ())) or "(root)"
            parts.append(f"{loc}: {err.get('msg')}")
        return "; ".join(parts)
    return str(exc)


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


# ---------------------------------------------------------------- the adapter


class OpenAIChatModel:
    """A `ChatModel` over an OpenAI-compatible chat-completions API.

    The SDK does the retrying (`settings.max_retries`, exponential backoff,
    Retry-After honoured) within `settings.timeout_s` per attempt.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        model: str | None = None,
        http_client: httpx2.Client | None = None,
        client: openai.OpenAI | None = None,
    ) -> None:
        self.settings = settings
        self.name: str = model or settings.model
        self.last_usage: Usage | None = None
        self.base_url: str = settings.base_url or OPENAI_DEFAULT_BASE_URL
        self._mode_index = 0  # into _MODES; advanced when the server rejects a mode
        self._client = client or openai.OpenAI(
            api_key=settings.client_api_key,
            base_url=self.base_url,
            timeout=settings.timeout_s,
            max_retries=settings.max_retries,
            http_client=http_client,
        )

    def __repr__(self) -> str:
        return f"OpenAIChatModel(name={self.name!r}, server={self.server_label!r})"

    # ------------------------------------------------------------ small parts

    @property
    def server_label(self) -> str:
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"

    @property
    def structured_mode(self) -> str:
        """"json_schema", "json_object" or "prompt": how `parse` currently asks for JSON."""
        return _MODES[self._mode_index]

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

    def _error(self, exc: BaseException) -> ModelError:
        """Map any SDK / transport exception to a ModelError with one plain sentence."""
        if isinstance(exc, ModelError):
            return exc
        server = self.server_label
        if isinstance(exc, (openai.APITimeoutError, httpx2.TimeoutException)):
            return self._fail(
                "timeout",
                f"The model server at {server} did not answer within {self.settings.timeout_s:g} seconds; "
                "try again, or raise INTERVIEWER_TIMEOUT_S.",
            )
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

    # ------------------------------------------------------------ stream_text

    def _open_stream(self, payload: list[dict[str, str]], max_tokens: int | None) -> Any:
        kwargs: dict[str, Any] = {"model": self.name, "messages": payload, "stream": True}
        kwargs.update(self._max_tokens_kwargs(max_tokens))
        try:
            return self._client.chat.completions.create(**kwargs, stream_options={"include_usage": True})
        except openai.BadRequestError as exc:
            if "stream_options" not in f"{exc.message} {exc.body!r}".lower():
                raise
            log.info("server rejected stream_options; streaming without usage (tokens will be counted)")
            return self._client.chat.completions.create(**kwargs)

    def stream_text(self, messages: Sequence[Message], *, max_tokens: int | None = None) -> Iterator[str]:
        """Yield the visible reply as it arrives (reasoning blocks removed).

        Raises ModelError: "stream_interrupted" if the stream dies midway (with
        `.partial`, the text already yielded), "truncated" at the length limit
        (also with `.partial`), "refusal", or the mapped request errors.
        """
        self._guard()
        self.last_usage = None
        payload = self._payload(messages)
        log.debug("streaming from %s model=%s (%d messages)", self.server_label, self.name, len(payload))
        try:
            stream = self._open_stream(payload, max_tokens)
        except Exception as exc:  # noqa: BLE001 - mapped to a ModelError
            raise self._error(exc) from None

        filt = ThinkFilter()
        raw: list[str] = []
        shown: list[str] = []
        refusal: list[str] = []
        api_usage: Any = None
        finish: str | None = None
        try:
            try:
                for chunk in stream:
                    if getattr(chunk, "usage", None) is not None:
                        api_usage = chunk.usage
                    for choice in chunk.choices or []:
                        if (choice.index or 0) != 0:
                            continue
                        delta = choice.delta
                        if delta is not None and delta.content:
                            raw.append(delta.content)
                            visible = filt.feed(delta.content)
                            if visible:
                                shown.append(visible)
                                yield visible
                        if delta is not None and getattr(delta, "refusal", None):
                            refusal.append(delta.refusal)
                        if choice.finish_reason:
                            finish = choice.finish_reason
            except (openai.OpenAIError, httpx2.HTTPError, OSError) as exc:
                partial = "".join(shown)
                self.last_usage = _counted(payload, "".join(raw))
                if partial or raw:
                    err = self._fail(
                        "stream_interrupted",
                        "The connection to the model server dropped midway through its reply; please retry.",
                    )
                else:
                    err = self._error(exc)
                err.partial = partial  # type: ignore[attr-defined]
                raise err from None
        finally:
            try:
                stream.close()
            except Exception:  # noqa: BLE001 - closing a dead stream
                pass

        tail = filt.flush()
        if tail:
            shown.append(tail)
            yield tail
        self.last_usage = _usage_from(api_usage) or _counted(payload, "".join(raw))
        if finish == "length":
            err = self._truncated()
            err.partial = "".join(shown)  # type: ignore[attr-defined]
            raise err
        if (refusal and not shown) or finish == "content_filter":
            raise self._refusal()

    # ------------------------------------------------------------ parse

    def _schema_instruction(self, output_type: type[BaseModel]) -> str:
        schema = json.dumps(output_type.model_json_schema(), indent=1)
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

    def _structured_call(self, payload: list[dict[str, str]], output_type: type[T]) -> tuple[T | None, str, Usage]:
        """One request for structured output: (parsed object or None, raw content, usage).

        Moves to the next structured-output mode when the server rejects the current one.
        """
        while True:
            mode = self.structured_mode
            try:
                if mode == "json_schema":
                    return self._call_json_schema(payload, output_type)
                return self._call_json_text(payload, output_type, mode)
            except (openai.BadRequestError, openai.UnprocessableEntityError) as exc:
                if self._mode_index + 1 < len(_MODES) and _mentions_structured_output(exc):
                    self._mode_index += 1
                    log.warning(
                        "%s rejected response_format %s; falling back to %s", self.server_label, mode, self.structured_mode
                    )
                    continue
                raise

    def _call_json_schema(self, payload: list[dict[str, str]], output_type: type[T]) -> tuple[T | None, str, Usage]:
        raw = self._client.chat.completions.with_raw_response.parse(
            model=self.name, messages=payload, response_format=output_type
        )
        try:
            completion = raw.parse()
        except (ValidationError, ValueError):
            # Content the SDK could not validate (e.g. with a <think> block): validate it ourselves.
            body = raw.http_response.json()
            choice = (body.get("choices") or [{}])[0]
            message = choice.get("message") or {}
            if message.get("refusal") and not message.get("content"):
                raise self._refusal() from None
            usage = _usage_from(CompletionUsage.model_validate(body["usage"])) if body.get("usage") else None
            content = message.get("content") or ""
            return None, content, usage or _counted(payload, content)
        choice = completion.choices[0]
        message = choice.message
        if message.refusal:
            raise self._refusal()
        content = message.content or ""
        usage = _usage_from(completion.usage) or _counted(payload, content)
        return message.parsed, content, usage

    def _call_json_text(
        self, payload: list[dict[str, str]], output_type: type[T], mode: str
    ) -> tuple[T | None, str, Usage]:
        kwargs: dict[str, Any] = {"model": self.name, "messages": self._with_schema_prompt(payload, output_type)}
        if mode == "json_object":
            kwargs["response_format"] = {"type": "json_object"}
        completion = self._client.chat.completions.create(**kwargs)
        choice = completion.choices[0]
        if choice.finish_reason == "length":
            raise self._truncated()
        if choice.finish_reason == "content_filter" or (choice.message.refusal and not choice.message.content):
            raise self._refusal()
        content = choice.message.content or ""
        usage = _usage_from(completion.usage) or _counted(kwargs["messages"], content)
        return None, content, usage

    def parse(self, messages: Sequence[Message], output_type: type[T]) -> T:
        """Ask for a reply valid for `output_type` and return it validated.

        An invalid reply is retried once with the validation error appended;
        a second invalid reply raises ModelError("invalid_output").
        """
        self._guard()
        self.last_usage = None
        payload = self._payload(messages)
        log.debug("parse %s from %s model=%s mode=%s", output_type.__name__, self.server_label, self.name, self.structured_mode)
        total: Usage | None = None
        for attempt in (1, 2):
            try:
                parsed, content, usage = self._structured_call(payload, output_type)
            except ModelError:
                raise
            except Exception as exc:  # noqa: BLE001 - mapped to a ModelError
                raise self._error(exc) from None
            total = usage if total is None else total + usage
            self.last_usage = total
            if parsed is not None:
                return parsed
            try:
                return _validate(content, output_type)
            except (ValidationError, ValueError) as exc:
                problem = _describe_invalid(exc)
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
        err.retried = True  # callers must not ask again: this adapter already re-asked with the error
        raise err

    # ------------------------------------------------------------ extras

    def transcribe(self, audio: bytes, filename: str) -> str:
        """Speech to text (voice answers) with `settings.transcribe_model`."""
        self._guard()
        try:
            result = self._client.audio.transcriptions.create(
                model=self.settings.transcribe_model, file=(filename, audio)
            )
        except Exception as exc:  # noqa: BLE001 - mapped to a ModelError
            raise self._error(exc) from None
        text = result if isinstance(result, str) else getattr(result, "text", "")
        return (text or "").strip()

    def check_connection(self) -> str:
        """One plain sentence: connected (with the models offered), or what failed. Never raises."""
        try:
            self._guard()
        except ModelRequestsBlocked as exc:
            return str(exc)
        server = self.server_label
        client = self._client.with_options(timeout=min(self.settings.timeout_s, 15.0), max_retries=0)
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
            client.chat.completions.create(
                model=self.name,
                messages=[{"role": "user", "content": "Reply with the single word OK."}],
                **self._max_tokens_kwargs(5),
            )
        except Exception as exc:  # noqa: BLE001
            return str(self._error(exc))
        return f"Connected to {server}: model {self.name} answered a test request."


def build_models(
    settings: Settings, *, http_client: httpx2.Client | None = None
) -> tuple[ChatModel | None, ChatModel | None]:
    """(interviewer, judge) models; (None, None) when offline. Both share one HTTP client."""
    if settings.offline:
        return None, None
    interviewer = OpenAIChatModel(settings, model=settings.model, http_client=http_client)
    judge = OpenAIChatModel(settings, model=settings.judge_model, client=interviewer._client)
    return interviewer, judge
