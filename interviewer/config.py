"""Settings: environment first, then `.streamlit/secrets.toml` (top-level keys of the same names).

    OPENAI_API_KEY                     secret; never printed (SecretStr)
    OPENAI_BASE_URL                    e.g. http://127.0.0.1:8080/v1 for a local server
    INTERVIEWER_MODEL                  default gpt-4o-mini
    INTERVIEWER_JUDGE_MODEL            default: the interviewer model
    INTERVIEWER_TIMEOUT_S              default 120: one interviewer reply (a follow-up), whole call
    INTERVIEWER_JUDGE_TIMEOUT_S        default 300: one judge call (a CPU-served model needs minutes)
    INTERVIEWER_MAX_RETRIES            default 2
    INTERVIEWER_DB_URL                 default sqlite:///$XDG_DATA_HOME/interviewer/interviewer.db
    INTERVIEWER_USER                   default local
    INTERVIEWER_SESSION_BUDGET_TOKENS  default 200000; 0 = no budget
    INTERVIEWER_TRANSCRIBE_MODEL       default whisper-1

With neither a key nor a base URL the app runs offline (no model calls).
A local server (base URL, no key) is used with a placeholder key.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from interviewer.errors import InterviewerError

DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_TRANSCRIBE_MODEL = "whisper-1"
LOCAL_PLACEHOLDER_KEY = "sk-no-key-needed"  # sent to a keyless local server (the SDK insists on a key)

# field name -> variable name
VARIABLES: dict[str, str] = {
    "api_key": "OPENAI_API_KEY",
    "base_url": "OPENAI_BASE_URL",
    "model": "INTERVIEWER_MODEL",
    "judge_model": "INTERVIEWER_JUDGE_MODEL",
    "timeout_s": "INTERVIEWER_TIMEOUT_S",
    "judge_timeout_s": "INTERVIEWER_JUDGE_TIMEOUT_S",
    "max_retries": "INTERVIEWER_MAX_RETRIES",
    "db_url": "INTERVIEWER_DB_URL",
    "user": "INTERVIEWER_USER",
    "session_budget_tokens": "INTERVIEWER_SESSION_BUDGET_TOKENS",
    "transcribe_model": "INTERVIEWER_TRANSCRIBE_MODEL",
}


class ConfigError(InterviewerError):
    """A setting has an invalid value; the message names the variable."""


def default_db_url(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    xdg = env.get("XDG_DATA_HOME") or ""
    base = Path(xdg) if xdg.strip() else Path(env.get("HOME") or Path.home()) / ".local" / "share"
    return f"sqlite:///{base / 'interviewer' / 'interviewer.db'}"


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    api_key: SecretStr | None = None
    base_url: str | None = None
    model: str = Field(default=DEFAULT_MODEL, min_length=1)
    judge_model: str = Field(default="", description="empty = same as `model`")
    # Wall-clock limits per call. When one is reached the request is closed (the server stops generating:
    # llama.cpp's server notices a closed stream) and the call is not retried: a retry would only wait again.
    timeout_s: float = Field(default=120.0, gt=0, le=3600, description="one interviewer call")
    judge_timeout_s: float = Field(default=300.0, gt=0, le=7200, description="one judge call")
    max_retries: int = Field(default=2, ge=0, le=10)
    db_url: str = Field(default="", description="empty = default_db_url()")
    user: str = Field(default="local", min_length=1)
    session_budget_tokens: int = Field(default=200_000, ge=0)
    transcribe_model: str = Field(default=DEFAULT_TRANSCRIBE_MODEL, min_length=1)

    @field_validator("base_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().rstrip("/")
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s) URL such as http://127.0.0.1:8080/v1")
        try:
            parts.port  # noqa: B018 - raises on a bad port
        except ValueError as exc:
            raise ValueError("has an invalid port") from exc
        return value

    def model_post_init(self, __context: Any) -> None:
        if not self.judge_model:
            object.__setattr__(self, "judge_model", self.model)
        if not self.db_url:
            object.__setattr__(self, "db_url", default_db_url())

    # ------------------------------------------------------------ derived

    @property
    def offline(self) -> bool:
        """No key and no base URL: no model calls at all."""
        return self.api_key is None and self.base_url is None

    @property
    def client_api_key(self) -> str:
        """The key to hand to the SDK: the real one, or a placeholder for a keyless local server."""
        if self.api_key is not None:
            return self.api_key.get_secret_value()
        return LOCAL_PLACEHOLDER_KEY

    @property
    def server_label(self) -> str:
        """scheme://host[:port] of the model server (OpenAI's when no base URL is set)."""
        url = self.base_url or "https://api.openai.com/v1"
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"

    def describe(self) -> str:
        """A safe one-line summary for the UI (never the key)."""
        if self.offline:
            return (
                "Offline: no model server configured (set OPENAI_API_KEY or OPENAI_BASE_URL). "
                "API key set: no."
            )
        models = f"interviewer model {self.model}"
        if self.judge_model != self.model:
            models += f", judge model {self.judge_model}"
        key = "yes" if self.api_key is not None else "no"
        return f"Model server: {self.server_label} · {models} · API key set: {key}"

    def __repr_args__(self):  # keep repr() free of the key even in its masked form's length
        for name, value in super().__repr_args__():
            if name == "api_key":
                yield name, ("set" if value is not None else None)
            else:
                yield name, value


def _read_secrets(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}.") from None
    except OSError as exc:
        raise ConfigError(f"Could not read {path}: {exc.strerror}.") from None
    return data


def load_settings(env: Mapping[str, str] | None = None, secrets_path: Path | None = None) -> Settings:
    """Settings from `env` (default os.environ), then the secrets file.

    `secrets_path` defaults to `.streamlit/secrets.toml` in the working directory;
    a missing file is fine. An empty value counts as unset.
    """
    env = os.environ if env is None else env
    secrets = _read_secrets(secrets_path if secrets_path is not None else Path.cwd() / ".streamlit" / "secrets.toml")

    raw: dict[str, Any] = {}
    for field, var in VARIABLES.items():
        value: Any = env.get(var)
        if value is None or (isinstance(value, str) and not value.strip()):
            value = secrets.get(var)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if isinstance(value, (dict, list)):
            raise ConfigError(f"{var} must be a single value, not a table or list.")
        if isinstance(value, bool):
            raise ConfigError(f"{var} must not be true/false.")
        raw[field] = value.strip() if isinstance(value, str) else value

    if "db_url" not in raw:
        raw["db_url"] = default_db_url(env)
    try:
        return Settings(**raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else ""
        var = VARIABLES.get(field, field)
        shown = "" if field == "api_key" else f" (got {raw.get(field)!r})"
        raise ConfigError(f"{var} is invalid: {_plain(err)}{shown}.") from None


def _plain(err: Mapping[str, Any]) -> str:
    msg = str(err.get("msg", "invalid value"))
    msg = msg.removeprefix("Value error, ")
    return msg[:1].lower() + msg[1:]
