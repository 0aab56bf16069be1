"""Deterministic fake chat models for tests and simulations (they never touch a network).

`ScriptedModel` replays queued replies and records every call; it raises
`FakeExhausted` when asked for more than it was given. `FunctionModel`
computes each reply from the messages it receives.

A reply may be text, a dict or pydantic object (for `parse`), or an exception
to raise. Text given to `parse` is validated like a real model's JSON reply.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from .chat import Message, Usage
from .errors import ModelError

T = TypeVar("T", bound=BaseModel)
Reply = Any  # str | dict | BaseModel | Exception


class FakeExhausted(AssertionError):
    """A scripted fake was called more times than it had replies."""


@dataclass
class Call:
    method: str  # "stream_text" or "parse"
    messages: list[Message]
    output_type: type | None = None


class InvalidOutput(ModelError):
    """The model's structured reply did not validate; `detail` holds the validation error."""

    def __init__(self, detail: str, raw: str):
        super().__init__("invalid_output", "The model's reply was not valid structured output.")
        self.detail = detail
        self.raw = raw


def _words(text: str) -> int:
    return len(text.split())


@dataclass
class _Base:
    name: str = "fake"
    chunk_words: int = 3
    calls: list[Call] = field(default_factory=list)
    last_usage: Usage | None = None

    def _reply(self, call: Call) -> Reply:  # pragma: no cover - overridden
        raise NotImplementedError

    def stream_text(self, messages: Sequence[Message], *, max_tokens: int | None = None) -> Iterator[str]:
        call = Call("stream_text", list(messages))
        self.calls.append(call)
        reply = self._reply(call)
        if isinstance(reply, Exception):
            raise reply
        text = str(reply)
        words = text.split(" ")
        prompt = sum(_words(m.content) for m in messages)
        self.last_usage = Usage(prompt_tokens=prompt, completion_tokens=_words(text), counted=True)

        def gen() -> Iterator[str]:
            for i in range(0, len(words), self.chunk_words):
                chunk = " ".join(words[i:i + self.chunk_words])
                yield chunk if i + self.chunk_words >= len(words) else chunk + " "
        return gen()

    def parse(self, messages: Sequence[Message], output_type: type[T]) -> T:
        call = Call("parse", list(messages), output_type)
        self.calls.append(call)
        reply = self._reply(call)
        if isinstance(reply, Exception):
            raise reply
        prompt = sum(_words(m.content) for m in messages)
        if isinstance(reply, output_type):
            raw = reply.model_dump_json()
        elif isinstance(reply, BaseModel):
            raw = reply.model_dump_json()
        elif isinstance(reply, (dict, list)):
            raw = json.dumps(reply)
        else:
            raw = str(reply)
        self.last_usage = Usage(prompt_tokens=prompt, completion_tokens=_words(raw), counted=True)
        try:
            return output_type.model_validate_json(raw)
        except ValidationError as exc:
            raise InvalidOutput(str(exc), raw) from None


@dataclass
class ScriptedModel(_Base):
    """Replays `replies` in order; raises `FakeExhausted` when they run out."""

    replies: list[Reply] = field(default_factory=list)

    def enqueue(self, *replies: Reply) -> "ScriptedModel":
        self.replies.extend(replies)
        return self

    def _reply(self, call: Call) -> Reply:
        if not self.replies:
            raise FakeExhausted(f"{self.name}: no scripted reply left for call #{len(self.calls)} ({call.method})")
        return self.replies.pop(0)


@dataclass
class FunctionModel(_Base):
    """Computes each reply as `fn(messages, output_type)` (output_type is None for text)."""

    fn: Callable[[list[Message], type | None], Reply] | None = None

    def _reply(self, call: Call) -> Reply:
        assert self.fn is not None, "FunctionModel needs fn"
        return self.fn(call.messages, call.output_type)
