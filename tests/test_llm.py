"""The OpenAI adapter over real HTTP (the `openai` client against tests/openai_server.py),
settings, offline token counting, prices and the budget. No internet."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx2
import pytest
from pydantic import BaseModel, Field

from interviewer import llm
from interviewer.chat import ChatModel, Message, Usage
from interviewer.config import ConfigError, Settings, load_settings
from interviewer.errors import ModelError, ModelRequestsBlocked
from interviewer.llm import OpenAIChatModel, ThinkFilter, build_models, is_loopback_url, strip_think
from interviewer.tokens import Budget, cost_usd, count_messages, count_tokens

pytestmark = pytest.mark.timeout(30)

REPO = Path(__file__).resolve().parents[1]
KEY = "sk-test-SECRET-0123456789abcdef"
Q = [
    Message(role="system", content="You are a friendly ML interviewer."),
    Message(role="user", content="Explain the bias-variance tradeoff"),
]


class Inner(BaseModel):
    label: str
    items: list[str]


class Grade(BaseModel):
    score: float = Field(ge=0, le=10)
    passed: bool
    feedback: str
    inner: Inner


GOOD = {"score": 7.5, "passed": True, "feedback": "Clear answer.", "inner": {"label": "x", "items": ["a"]}}


@pytest.fixture(autouse=True)
def _block_remote(monkeypatch):
    monkeypatch.setenv("INTERVIEWER_BLOCK_REMOTE_MODELS", "1")


def settings_for(base_url: str, tmp_path: Path | None = None, **env: str) -> Settings:
    values = {"OPENAI_BASE_URL": base_url, "INTERVIEWER_TIMEOUT_S": "2", "INTERVIEWER_MAX_RETRIES": "0", **env}
    return load_settings(values, secrets_path=Path("/nonexistent/secrets.toml"))


def model_for(server, **env: str) -> OpenAIChatModel:
    return OpenAIChatModel(settings_for(server.base_url, **env))


def recovers(model: OpenAIChatModel) -> None:
    """After a failure the same model object works again, in both paths."""
    assert "".join(model.stream_text(Q)).startswith("Thanks.")
    assert isinstance(model.parse(Q, Grade), Grade)


# ---------------------------------------------------------------- happy paths


def test_stream_text_streams_deltas_and_records_usage(openai_server):
    model = model_for(openai_server)
    assert isinstance(model, ChatModel)
    chunks = list(model.stream_text(Q, max_tokens=50))
    assert len(chunks) > 3
    assert "".join(chunks) == "Thanks. You said: Explain the bias-variance tradeoff"
    body = openai_server.chat_requests[-1]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["max_tokens"] == 50  # a non-OpenAI server gets max_tokens
    assert body["model"] == "gpt-4o-mini"
    assert model.last_usage is not None and not model.last_usage.counted
    assert model.last_usage.prompt_tokens > 0 and model.last_usage.completion_tokens == 7


def test_stream_usage_counted_when_server_ignores_include_usage(openai_server):
    openai_server.ignore_stream_options = True
    model = model_for(openai_server)
    text = "".join(model.stream_text(Q))
    usage = model.last_usage
    assert usage is not None and usage.counted
    assert usage.prompt_tokens == count_messages(Q)
    assert usage.completion_tokens == count_tokens(text)


def test_cached_prompt_tokens_are_read(openai_server):
    openai_server.cached_tokens = 4
    model = model_for(openai_server)
    list(model.stream_text(Q))
    assert model.last_usage.cached_tokens == 4
    model.parse(Q, Grade)
    assert model.last_usage.cached_tokens == 4


def test_parse_returns_the_pydantic_object(openai_server):
    model = model_for(openai_server)
    minimal = model.parse(Q, Grade)  # the default handler: a minimal valid instance
    assert minimal == Grade(score=0, passed=False, feedback="", inner=Inner(label="", items=[]))
    fmt = openai_server.chat_requests[-1]["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    openai_server.set_handler(lambda body: GOOD)
    assert model.parse(Q, Grade) == Grade.model_validate(GOOD)
    assert model.last_usage is not None and model.last_usage.completion_tokens > 0


def test_structured_replies_are_greedy_on_a_self_hosted_server_only(openai_server):
    """The judge's verdicts are sampled at temperature 0 on a local server (llama.cpp samples at 0.8 unless
    told), in both structured modes; chat replies keep the server's default."""
    model = model_for(openai_server)
    model.parse(Q, Grade)
    assert openai_server.chat_requests[-1]["temperature"] == 0
    openai_server.inject("no_json_schema")
    fresh = model_for(openai_server)
    fresh.parse(Q, Grade)
    assert openai_server.chat_requests[-1]["response_format"]["type"] == "json_object"
    assert openai_server.chat_requests[-1]["temperature"] == 0
    "".join(model.stream_text(Q))
    assert "temperature" not in openai_server.chat_requests[-1]
    assert OpenAIChatModel(settings_for("https://api.openai.com/v1"))._judge_sampling() == {}


def test_parse_falls_back_to_json_object_when_json_schema_is_rejected(openai_server, caplog):
    openai_server.inject("no_json_schema")
    openai_server.set_handler(lambda body: GOOD)
    model = model_for(openai_server)
    with caplog.at_level(logging.WARNING):
        assert model.parse(Q, Grade) == Grade.model_validate(GOOD)
    first, second = openai_server.chat_requests
    assert first["response_format"]["type"] == "json_schema"
    assert second["response_format"]["type"] == "json_object"
    assert second["response_format"]["schema"] == Grade.model_json_schema()  # llama.cpp makes it a grammar
    assert '"feedback"' in second["messages"][0]["content"]  # the schema is in the prompt
    assert second["messages"][0]["content"].startswith("You are a friendly ML interviewer.")
    assert model.structured_mode == "json_object_schema"
    assert model.structured_fallback.startswith("json_schema: HTTP 400")
    # remembered: the next call goes straight to json_object
    model.parse(Q, Grade)
    assert openai_server.chat_requests[-1]["response_format"]["type"] == "json_object"
    assert len(openai_server.chat_requests) == 3
    # the default handler reads the schema from the prompt
    openai_server.set_handler(None)
    assert model.parse(Q, Grade).inner.items == []


def test_think_blocks_are_stripped_in_both_paths(openai_server):
    def handler(body):
        if body.get("response_format"):
            return '<think>The JSON could be {"score": 99}</think>\n' + Grade.model_validate(GOOD).model_dump_json()
        return "<think>Reasoning the candidate must never see.</think>\n\nHere is my follow-up question."

    openai_server.set_handler(handler)
    model = model_for(openai_server)
    text = "".join(model.stream_text(Q))
    assert text == "Here is my follow-up question."
    assert model.parse(Q, Grade) == Grade.model_validate(GOOD)


def test_think_filter_handles_tags_split_across_deltas():
    reply = "<think>hidden <b> stuff</think>\nVisible <thin answer</think> tail"
    for size in (1, 2, 3, 5, 100):
        f = ThinkFilter()
        out = "".join(f.feed(reply[i : i + size]) for i in range(0, len(reply), size)) + f.flush()
        assert "hidden" not in out
        assert out == "Visible <thin answer</think> tail"
    f = ThinkFilter()
    assert f.feed("Answer <think>unfinished reasoning") + f.flush() == "Answer "
    assert strip_think("<think>a</think>  {}") == "{}"
    assert strip_think("reasoning only closed</think>{}") == "{}"
    assert strip_think("{} <think>never closed") == "{}"


# ---------------------------------------------------------------- faults, each followed by recovery


def test_429_is_retried_by_the_sdk_then_succeeds(openai_server):
    openai_server.inject("429", times=1)
    model = model_for(openai_server, INTERVIEWER_MAX_RETRIES="2")
    assert "".join(model.stream_text(Q)).startswith("Thanks.")
    assert len(openai_server.chat_requests) == 2
    openai_server.inject("429", times=2)
    assert isinstance(model.parse(Q, Grade), Grade)
    assert len(openai_server.chat_requests) == 5


def test_429_persisting_is_rate_limited_in_plain_words(openai_server):
    openai_server.inject("429", times=2)
    model = model_for(openai_server, INTERVIEWER_MAX_RETRIES="1")
    with pytest.raises(ModelError) as err:
        list(model.stream_text(Q))
    assert err.value.kind == "rate_limited"
    assert str(err.value) == "The model server is rate-limiting requests (HTTP 429). Wait a moment and retry."
    assert len(openai_server.chat_requests) == 2
    recovers(model)


def test_500_is_a_server_error(openai_server):
    model = model_for(openai_server)
    model.parse(Q, Grade)  # json_schema has worked: a later 500 is the server's, not the format's
    openai_server.inject("500", times=2)
    for call in (lambda: list(model.stream_text(Q)), lambda: model.parse(Q, Grade)):
        with pytest.raises(ModelError) as err:
            call()
        assert err.value.kind == "server_error"
        assert str(err.value) == "The model server had an internal error (HTTP 500); try again in a moment."
    assert model.structured_mode == "json_schema"
    recovers(model)


def test_500_on_two_untried_modes_is_the_server_failing_not_the_format(openai_server):
    openai_server.inject("500", times=2)
    model = model_for(openai_server)
    with pytest.raises(ModelError) as err:
        model.parse(Q, Grade)
    assert err.value.kind == "server_error"
    assert [r["response_format"]["type"] for r in openai_server.chat_requests] == ["json_schema", "json_object"]
    assert model.structured_mode == "json_schema" and model.structured_fallback is None  # nothing learned
    assert isinstance(model.parse(Q, Grade), Grade)
    assert openai_server.chat_requests[-1]["response_format"]["type"] == "json_schema"


def test_replies_reuse_one_connection_and_a_body_held_open_after_done_costs_at_most_the_drain_time(openai_server):
    """openai's Stream stops reading at `data: [DONE]` and closes the response before its HTTP body has ended, and
    the connection is then dropped: every reply opened a new one (with a remote API, a new TLS handshake per turn)."""
    model = model_for(openai_server, INTERVIEWER_TIMEOUT_S="30")  # what ends the wait below is the drain's own limit
    for _ in range(3):
        assert "".join(model.stream_text(Q)).startswith("Thanks.")
    assert isinstance(model.parse(Q, Grade), Grade)
    assert openai_server.connections == 1
    # A server (or a proxy) that holds the body open after [DONE]: the reply is whole and arrives within the drain
    # time, then that connection is closed, not reused.
    openai_server.inject("linger")
    started = time.monotonic()
    assert "".join(model.stream_text(Q)).startswith("Thanks.")
    assert time.monotonic() - started < llm.DRAIN_S + 1.5 < openai_server.linger_s
    recovers(model)
    assert openai_server.connections == 2


def test_timeout(openai_server):
    openai_server.timeout_sleep_s = 3
    openai_server.inject("timeout", times=2)
    model = model_for(openai_server, INTERVIEWER_TIMEOUT_S="0.4")
    for call in (lambda: list(model.stream_text(Q)), lambda: model.parse(Q, Grade)):
        with pytest.raises(ModelError) as err:
            call()
        assert err.value.kind == "timeout"
        assert str(err.value) == (
            f"The model server at http://127.0.0.1:{openai_server.port} did not finish within 0.4 seconds, "
            "so the request was closed; try again, or raise INTERVIEWER_TIMEOUT_S."
        )
    recovers(model)


def test_a_timeout_is_never_retried(openai_server):
    openai_server.timeout_sleep_s = 3
    openai_server.inject("timeout", times=None)
    model = model_for(openai_server, INTERVIEWER_TIMEOUT_S="0.4", INTERVIEWER_MAX_RETRIES="2")
    with pytest.raises(ModelError) as err:
        list(model.stream_text(Q))
    assert err.value.kind == "timeout"
    assert len(openai_server.chat_requests) == 1  # the server may still be working on it: no second request


def test_a_500_that_names_the_response_format_falls_back_even_after_the_mode_worked(openai_server):
    model = model_for(openai_server)
    model.parse(Q, Grade)
    assert model.structured_mode == "json_schema"
    openai_server.inject("json_schema_500", times=None)  # e.g. the server was restarted with another backend
    assert isinstance(model.parse(Q, Grade), Grade)
    assert model.structured_mode == "json_object_schema"


def test_connection_refused_then_server_comes_up(openai_server):
    from tests.openai_server import FakeOpenAIServer

    url = openai_server.refused_base_url
    port = int(url.split(":")[2].split("/")[0])
    model = OpenAIChatModel(settings_for(url))
    with pytest.raises(ModelError) as err:
        list(model.stream_text(Q))
    assert err.value.kind == "connection"
    assert str(err.value) == f"Could not reach the model server at http://127.0.0.1:{port}. Is it running?"
    with pytest.raises(ModelError) as err:
        model.parse(Q, Grade)
    assert err.value.kind == "connection"
    assert model.check_connection() == str(err.value)
    late = FakeOpenAIServer(port=port).start()  # the server is started: the same model recovers
    try:
        recovers(model)
    finally:
        late.stop()


def test_stream_cut_midway_keeps_the_partial_text(openai_server):
    openai_server.inject("stream_cut")
    model = model_for(openai_server)
    received = []
    with pytest.raises(ModelError) as err:
        for chunk in model.stream_text(Q):
            received.append(chunk)
    assert err.value.kind == "stream_interrupted"
    assert str(err.value) == "The connection to the model server dropped midway through its reply; please retry."
    assert err.value.partial == "".join(received)
    assert err.value.partial and "Thanks. You said: Explain the bias-variance tradeoff".startswith(err.value.partial)
    assert err.value.partial != "Thanks. You said: Explain the bias-variance tradeoff"
    assert model.last_usage is not None and model.last_usage.counted
    recovers(model)


def test_stream_cut_on_a_parse_request_is_a_connection_error(openai_server):
    openai_server.inject("stream_cut")
    model = model_for(openai_server)
    with pytest.raises(ModelError) as err:
        model.parse(Q, Grade)
    assert err.value.kind == "connection"
    recovers(model)


def test_invalid_json_is_retried_once_with_the_error(openai_server):
    openai_server.inject("invalid_json", times=1)
    openai_server.set_handler(lambda body: GOOD)
    model = model_for(openai_server)
    assert model.parse(Q, Grade) == Grade.model_validate(GOOD)
    first, second = openai_server.chat_requests
    assert second["messages"][-2] == {"role": "assistant", "content": "Sure! Here is my answer: {not valid json"}
    assert "not valid JSON" in second["messages"][-1]["content"]
    # the usage of both attempts is added up (the server counts whitespace-separated words)
    bad, good = "Sure! Here is my answer: {not valid json", json.dumps(GOOD)
    assert model.last_usage.completion_tokens == len(bad.split()) + len(good.split())
    assert not model.last_usage.counted


def test_invalid_json_twice_is_invalid_output(openai_server):
    openai_server.inject("invalid_json", times=2)
    model = model_for(openai_server)
    with pytest.raises(ModelError) as err:
        model.parse(Q, Grade)
    assert err.value.kind == "invalid_output"
    assert str(err.value) == (
        "The model's reply was not in the expected format, even after one retry; try again or use a stronger model."
    )
    assert len(openai_server.chat_requests) == 2
    recovers(model)


def test_schema_violation_is_retried_like_invalid_json(openai_server):
    replies = iter([{"score": 42, "passed": True, "feedback": "", "inner": {"label": "", "items": []}}, GOOD])
    openai_server.set_handler(lambda body: next(replies))
    model = model_for(openai_server)
    assert model.parse(Q, Grade) == Grade.model_validate(GOOD)
    assert "score" in openai_server.chat_requests[1]["messages"][-1]["content"]


def test_refusal(openai_server):
    openai_server.inject("refusal", times=2)
    model = model_for(openai_server)
    for call in (lambda: list(model.stream_text(Q)), lambda: model.parse(Q, Grade)):
        with pytest.raises(ModelError) as err:
            call()
        assert err.value.kind == "refusal"
        assert str(err.value) == "The model declined to answer this request."
    recovers(model)


def test_length_is_truncated(openai_server):
    openai_server.inject("length", times=2)
    openai_server.set_handler(lambda body: GOOD if body.get("response_format") else "one two three four five six")
    model = model_for(openai_server)
    with pytest.raises(ModelError) as err:
        list(model.stream_text(Q))
    assert err.value.kind == "truncated"
    assert err.value.partial == "one two three"
    with pytest.raises(ModelError) as err:
        model.parse(Q, Grade)
    assert err.value.kind == "truncated"
    assert "length limit" in str(err.value)
    openai_server.set_handler(None)
    recovers(model)


def test_fallback_modes_also_detect_length_and_refusal(openai_server):
    openai_server.inject("no_json_schema", times=None)
    openai_server.inject("length")
    openai_server.inject("refusal")
    model = model_for(openai_server)
    with pytest.raises(ModelError) as err:
        model.parse(Q, Grade)
    assert err.value.kind == "truncated" and model.structured_mode == "json_object_schema"
    with pytest.raises(ModelError) as err:
        model.parse(Q, Grade)
    assert err.value.kind == "refusal"
    assert isinstance(model.parse(Q, Grade), Grade)


# ---------------------------------------------------------------- the key never leaks


def test_api_key_never_in_errors_repr_or_logs(openai_server, caplog, tmp_path):
    settings = load_settings(
        {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": openai_server.base_url, "INTERVIEWER_MAX_RETRIES": "0",
         "INTERVIEWER_TIMEOUT_S": "0.4"},
        secrets_path=tmp_path / "none.toml",
    )
    model = OpenAIChatModel(settings)
    openai_server.timeout_sleep_s = 2
    messages = []
    with caplog.at_level(logging.DEBUG):
        for fault in ("401", "429", "500", "timeout", "stream_cut", "invalid_json", "refusal", "length"):
            openai_server.inject(fault, times=2)
            for call in (lambda: list(model.stream_text(Q)), lambda: model.parse(Q, Grade)):
                try:
                    call()
                except ModelError as exc:
                    messages.append(f"{exc.kind}: {exc} {exc!r}")
            openai_server.clear_faults()
        messages.append(model.check_connection())
    assert any(m.startswith("auth: The API key was rejected") for m in messages)
    assert openai_server.headers[0]["authorization"] == f"Bearer {KEY}"  # it was really sent
    shown = "\n".join(messages + [repr(settings), str(settings), settings.describe(), repr(model), caplog.text])
    assert "Sending HTTP Request" in caplog.text  # the SDK's debug log was captured
    assert "model call failed (auth)" in caplog.text  # and the adapter's
    assert KEY not in shown and KEY[:12] not in shown and "SECRET" not in shown
    assert "API key set: yes" in settings.describe()
    assert settings.model_dump_json().count("SECRET") == 0


# ---------------------------------------------------------------- the remote guard


@pytest.mark.parametrize(
    "env",
    [
        {"OPENAI_BASE_URL": "http://203.0.113.7:8000/v1"},
        {"OPENAI_BASE_URL": "https://models.example.com/v1", "OPENAI_API_KEY": KEY},
        {"OPENAI_API_KEY": KEY},  # no base URL: api.openai.com
    ],
)
def test_remote_guard_blocks_non_loopback_before_any_request(env, tmp_path):
    sent = []
    transport = httpx2.MockTransport(lambda request: sent.append(request) or httpx2.Response(500))
    settings = load_settings(env, secrets_path=tmp_path / "none.toml")
    model = OpenAIChatModel(settings, http_client=httpx2.Client(transport=transport))
    with pytest.raises(ModelRequestsBlocked) as err:
        list(model.stream_text(Q))
    assert err.value.kind == "blocked"
    with pytest.raises(ModelRequestsBlocked):
        model.parse(Q, Grade)
    with pytest.raises(ModelRequestsBlocked):
        model.transcribe(b"RIFF", "a.wav")
    assert "not allowed" in model.check_connection()
    assert sent == []
    assert KEY not in str(err.value)


def test_remote_guard_allows_loopback_and_is_off_without_the_variable(monkeypatch, tmp_path):
    for url in ("http://127.0.0.1:1/v1", "http://127.8.9.10/v1", "http://localhost:8080/v1", "http://[::1]:8080/v1"):
        assert is_loopback_url(url)
    for url in ("http://10.0.0.1/v1", "https://api.openai.com/v1", "http://localhost.example.com/v1", "http://[::2]/v1"):
        assert not is_loopback_url(url)
    monkeypatch.delenv("INTERVIEWER_BLOCK_REMOTE_MODELS")
    transport = httpx2.MockTransport(lambda request: httpx2.Response(200, json={"object": "list", "data": []}))
    settings = load_settings({"OPENAI_BASE_URL": "http://203.0.113.7:8000/v1"}, secrets_path=tmp_path / "n.toml")
    model = OpenAIChatModel(settings, http_client=httpx2.Client(transport=transport))
    assert model.check_connection() != "Model requests to http://203.0.113.7:8000 are not allowed here."


# ---------------------------------------------------------------- settings


def test_settings_defaults_and_offline(tmp_path):
    s = load_settings({"XDG_DATA_HOME": str(tmp_path / "xdg")}, secrets_path=tmp_path / "missing.toml")
    assert s.offline
    assert (s.model, s.judge_model, s.timeout_s, s.max_retries) == ("gpt-4o-mini", "gpt-4o-mini", 120, 2)
    assert s.judge_timeout_s == 300
    assert (s.user, s.session_budget_tokens, s.transcribe_model) == ("local", 200_000, "whisper-1")
    assert s.db_url == f"sqlite:///{tmp_path / 'xdg' / 'interviewer' / 'interviewer.db'}"
    home = load_settings({"HOME": "/home/cand"}, secrets_path=tmp_path / "missing.toml")
    assert home.db_url == "sqlite:////home/cand/.local/share/interviewer/interviewer.db"
    assert "Offline" in s.describe() and "API key set: no" in s.describe()
    assert build_models(s) == (None, None)


def test_settings_from_env_take_precedence_over_secrets(tmp_path):
    secrets = tmp_path / ".streamlit" / "secrets.toml"
    secrets.parent.mkdir()
    secrets.write_text(
        f'OPENAI_API_KEY = "{KEY}"\nINTERVIEWER_MODEL = "gpt-4.1-mini"\nINTERVIEWER_JUDGE_MODEL = "gpt-4o"\n'
        'INTERVIEWER_TIMEOUT_S = 30\nINTERVIEWER_SESSION_BUDGET_TOKENS = 0\nINTERVIEWER_USER = "ana"\n'
    )
    s = load_settings({"INTERVIEWER_MODEL": "gpt-4o-mini", "INTERVIEWER_MAX_RETRIES": "5"}, secrets_path=secrets)
    assert s.api_key is not None and s.api_key.get_secret_value() == KEY
    assert (s.model, s.judge_model, s.timeout_s, s.max_retries) == ("gpt-4o-mini", "gpt-4o", 30, 5)
    assert (s.session_budget_tokens, s.user) == (0, "ana")
    assert not s.offline and s.base_url is None
    assert s.describe() == (
        "Model server: https://api.openai.com · interviewer model gpt-4o-mini, judge model gpt-4o · API key set: yes"
    )
    interviewer, judge = build_models(s)
    assert (interviewer.name, judge.name) == ("gpt-4o-mini", "gpt-4o")


def test_default_secrets_path_is_the_working_directory(tmp_path, monkeypatch):
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text('OPENAI_BASE_URL = "http://127.0.0.1:9/v1/"\n')
    monkeypatch.chdir(tmp_path)
    s = load_settings({})
    assert s.base_url == "http://127.0.0.1:9/v1" and not s.offline
    assert s.client_api_key == "sk-no-key-needed"
    assert s.describe() == "Model server: http://127.0.0.1:9 · interviewer model gpt-4o-mini · API key set: no"


def test_local_server_without_key_uses_a_placeholder(openai_server):
    model = model_for(openai_server)
    list(model.stream_text(Q))
    assert openai_server.headers[-1]["authorization"] == "Bearer sk-no-key-needed"


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("INTERVIEWER_TIMEOUT_S", "soon"),
        ("INTERVIEWER_TIMEOUT_S", "0"),
        ("INTERVIEWER_MAX_RETRIES", "-1"),
        ("INTERVIEWER_SESSION_BUDGET_TOKENS", "lots"),
        ("OPENAI_BASE_URL", "localhost:8080"),
        ("OPENAI_BASE_URL", "http://127.0.0.1:99999/v1"),
    ],
)
def test_invalid_values_name_the_variable(var, value, tmp_path):
    with pytest.raises(ConfigError) as err:
        load_settings({var: value}, secrets_path=tmp_path / "none.toml")
    assert str(err.value).startswith(f"{var} is invalid: ")
    assert repr(value) in str(err.value)


def test_invalid_secrets_file_is_one_clear_error(tmp_path):
    bad = tmp_path / "secrets.toml"
    bad.write_text("OPENAI_API_KEY = \n")
    with pytest.raises(ConfigError) as err:
        load_settings({}, secrets_path=bad)
    assert str(bad) in str(err.value)


# ---------------------------------------------------------------- tokens, cost, budget


def test_tokens_count_offline_with_an_empty_tiktoken_cache(tmp_path):
    cache = tmp_path / "tiktoken-cache"
    cache.mkdir()
    code = textwrap.dedent(
        """
        import socket
        def no_network(*args, **kwargs):
            raise OSError("network disabled in this test")
        socket.socket.connect = no_network
        socket.create_connection = no_network
        from interviewer.chat import Message
        from interviewer.tokens import count_tokens, count_messages, encoding
        assert count_tokens("") == 0
        assert count_tokens("hello world") == 2, count_tokens("hello world")
        assert encoding().decode(encoding().encode("Explain the bias-variance tradeoff")) == "Explain the bias-variance tradeoff"
        assert count_tokens("<|endoftext|>") > 1
        n = count_messages([Message(role="user", content="hello world")])
        assert n == 3 + 1 + 2 + 3, n
        print("ok", encoding().n_vocab)
        """
    )
    env = {**os.environ, "TIKTOKEN_CACHE_DIR": str(cache), "DATA_GYM_CACHE_DIR": str(cache), "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok 200019")
    assert list(cache.iterdir()) == []


def test_cost_for_known_and_unknown_models():
    usage = Usage(prompt_tokens=1_000_000, completion_tokens=100_000, cached_tokens=200_000)
    # gpt-4o-mini: 0.15 input, 0.075 cached input, 0.60 output per 1M tokens
    expected = 0.8 * 0.15 + 0.2 * 0.075 + 0.1 * 0.60
    assert cost_usd("gpt-4o-mini", usage) == pytest.approx(expected)
    assert cost_usd("gpt-4o-mini-2024-07-18", usage) == pytest.approx(expected)
    assert cost_usd("gpt-4o-mini", usage, base_url="https://api.openai.com/v1") == pytest.approx(expected)
    assert cost_usd("my-local-llama", usage) is None
    assert cost_usd("gpt-4o-mini", usage, base_url="http://127.0.0.1:8080/v1") is None
    assert cost_usd("gpt-4o-mini", None) is None


def test_budget():
    unlimited = Budget(0)
    unlimited.add(Usage(prompt_tokens=10**9))
    assert unlimited.remaining is None and not unlimited.exhausted
    unlimited.check()
    budget = Budget(limit=100)
    budget.add(Usage(prompt_tokens=60, completion_tokens=30))
    assert (budget.used, budget.remaining, budget.exhausted) == (90, 10, False)
    budget.add(None)
    budget.add(Usage(prompt_tokens=5, completion_tokens=10, counted=True))
    assert (budget.used, budget.remaining, budget.exhausted) == (105, 0, True)
    with pytest.raises(ModelError) as err:
        budget.check()
    assert err.value.kind == "budget" and "100 tokens" in str(err.value)


# ---------------------------------------------------------------- transcription and connection check


def test_transcription(openai_server):
    model = model_for(openai_server)
    assert model.transcribe(b"RIFF....WAVEfmt fake audio", "answer.wav") == "I would use cross-validation."
    form = openai_server.requests[-1]
    assert form["model"] == "whisper-1"
    assert form["file"] == {"filename": "answer.wav", "size": 26}
    openai_server.inject("500")
    with pytest.raises(ModelError) as err:
        model.transcribe(b"x", "a.wav")
    assert err.value.kind == "server_error"


def test_check_connection(openai_server):
    ok = model_for(openai_server).check_connection()
    assert ok == (
        f"Connected to http://127.0.0.1:{openai_server.port}: it offers gpt-4o-mini, local-model; "
        "the configured model gpt-4o-mini is among them."
    )
    missing = model_for(openai_server, INTERVIEWER_MODEL="qwen3").check_connection()
    assert "qwen3 is NOT among them" in missing


def _mock_model(handler, **env: str) -> OpenAIChatModel:
    settings = load_settings(
        {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "OPENAI_API_KEY": KEY, "INTERVIEWER_MAX_RETRIES": "0", **env},
        secrets_path=Path("/nonexistent/secrets.toml"),
    )
    return OpenAIChatModel(settings, http_client=httpx2.Client(transport=httpx2.MockTransport(handler)))


@pytest.mark.parametrize(
    ("status", "kind", "message"),
    [
        (401, "auth", "The API key was rejected (HTTP 401); check OPENAI_API_KEY."),
        (403, "auth", "The model server refused access to model gpt-4o-mini with this API key (HTTP 403)."),
        (404, "bad_request", "The model server at http://127.0.0.1:9 does not offer model gpt-4o-mini (HTTP 404); "
         "check INTERVIEWER_MODEL and OPENAI_BASE_URL."),
        (400, "bad_request", "The model server rejected the request (HTTP 400): Bad key [redacted] for messages[0]."),
        (503, "server_error", "The model server had an internal error (HTTP 503); try again in a moment."),
    ],
)
def test_http_statuses_map_to_plain_sentences(status, kind, message):
    body = {"error": {"message": f"Bad key {KEY} for messages[0].", "type": "x", "param": None, "code": None}}
    model = _mock_model(lambda request: httpx2.Response(status, json=body))
    for call in (lambda: list(model.stream_text(Q)), lambda: model.parse(Q, Grade)):
        with pytest.raises(ModelError) as err:
            call()
        assert (err.value.kind, str(err.value)) == (kind, message)
    assert model.check_connection() == message


def test_insufficient_quota_is_explained():
    body = {"error": {"message": "You exceeded your current quota", "type": "insufficient_quota", "code": "insufficient_quota"}}
    model = _mock_model(lambda request: httpx2.Response(429, json=body))
    with pytest.raises(ModelError) as err:
        model.parse(Q, Grade)
    assert err.value.kind == "rate_limited" and "run out of credit" in str(err.value)


def test_check_connection_falls_back_to_a_tiny_completion_without_models_endpoint():
    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.path.endswith("/models"):
            return httpx2.Response(404, json={"error": {"message": "not found"}})
        reply = {"id": "x", "object": "chat.completion", "created": 0, "model": "m",
                 "choices": [{"index": 0, "message": {"role": "assistant", "content": "OK"}, "finish_reason": "stop"}]}
        return httpx2.Response(200, json=reply)

    assert _mock_model(handler).check_connection() == (
        "Connected to http://127.0.0.1:9: model gpt-4o-mini answered a test request."
    )


def test_prompt_mode_when_the_server_rejects_json_object_too(openai_server):
    openai_server.set_handler(lambda body: GOOD)
    openai_server.inject("no_json_schema", times=None)
    openai_server.inject("no_json_object", times=None)
    model = model_for(openai_server)
    assert model.parse(Q, Grade) == Grade.model_validate(GOOD)
    assert [r.get("response_format", {}).get("type") for r in openai_server.chat_requests] == [
        "json_schema", "json_object", "json_object", None
    ]
    assert "schema" in openai_server.chat_requests[1]["response_format"]
    assert "schema" not in openai_server.chat_requests[2]["response_format"]
    assert model.structured_mode == "prompt"
    assert '"feedback"' in openai_server.chat_requests[-1]["messages"][0]["content"]
    openai_server.set_handler(None)  # the default handler answers from the schema in the prompt
    assert model.parse(Q, Grade).passed is False


# ---------------------------------------------------------------- capabilities (issue 14)


def test_check_capabilities_reports_chat_structured_output_and_transcription_separately(openai_server):
    model = model_for(openai_server)
    report = model.check_capabilities()
    assert list(report) == ["server", "chat", "structured", "transcription"]
    assert report["chat"].startswith("Chat: model gpt-4o-mini answered (Thanks.")
    assert report["structured"] == "Structured output: works as JSON schema (strict)."
    assert report["transcription"].startswith("Transcription: the server offers speech-to-text")
    openai_server.inject("json_schema_500", times=None)
    fresh = model_for(openai_server)
    assert fresh.check_capabilities()["structured"].startswith(
        "Structured output: works as JSON mode with a schema grammar (it refused: json_schema: HTTP 500")
    openai_server.clear_faults()
    openai_server.inject("template_junk")
    junk = model_for(openai_server).check_capabilities()["chat"]
    assert "raw template text" in junk and "chat template" in junk


def test_no_transcription_endpoint_hides_the_microphone_and_says_so_plainly():
    from interviewer.chat import can_transcribe

    calls = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(request.url.path)
        return httpx2.Response(404, json={"detail": "Not Found"})  # what llama-cpp-python's server answers

    model = _mock_model(handler)
    assert can_transcribe(model) is False and can_transcribe(model) is False
    assert calls == ["/v1/audio/transcriptions"]  # probed once, then remembered
    with pytest.raises(ModelError) as err:
        model.transcribe(b"RIFF", "a.wav")
    assert str(err.value) == ("The model server at http://127.0.0.1:9 offers no speech-to-text endpoint, "
                              "so answers must be typed.")
    assert can_transcribe(None) is False


def test_a_server_that_refuses_an_empty_file_does_offer_transcription():
    from interviewer.chat import can_transcribe

    model = _mock_model(lambda request: httpx2.Response(400, json={"error": {"message": "Audio file is too short"}}))
    assert can_transcribe(model) is True


def test_progress_of_a_streamed_judge_call_reports_elapsed_time_in_this_thread_only(openai_server):
    from interviewer.chat import progress_of

    openai_server.inject("json_schema_500", times=None)  # JSON mode streams
    openai_server.set_handler(lambda body: GOOD)
    model = model_for(openai_server)
    ticks: list[tuple[float, int]] = []
    with progress_of(model, lambda s, n: ticks.append((s, n))):
        model.parse(Q, Grade)
    assert ticks and all(s >= 0 for s, _ in ticks) and ticks[-1][1] == len(json.dumps(GOOD))
    before = len(ticks)
    model.parse(Q, Grade)  # outside the block: no reports
    assert len(ticks) == before


def test_warm_up_loads_what_the_microphone_probe_would_import_on_a_users_first_answer():
    """The client imports its audio types on first use (~50-150 ms with the GIL held); the app's background
    warm-up calls `llm.warm_up()` so that no user's turn pays for it."""
    code = textwrap.dedent("""
        import sys
        import interviewer.llm as llm
        from interviewer.config import load_settings
        llm.warm_up()
        model = llm.OpenAIChatModel(load_settings({"OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}))
        before = set(sys.modules)
        model._client.audio.transcriptions
        print(sorted(set(sys.modules) - before))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent)
    assert out.stdout.strip() == "[]", out.stdout
