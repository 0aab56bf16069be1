"""Test-wide guards: no test may reach a real model or a user's real data."""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["tests.openai_server"]

# Any adapter pointed at a non-loopback host refuses before sending a byte.
os.environ["INTERVIEWER_BLOCK_REMOTE_MODELS"] = "1"
for _var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "INTERVIEWER_MODEL", "INTERVIEWER_JUDGE_MODEL"):
    os.environ.pop(_var, None)


@pytest.fixture(autouse=True)
def _private_data_dir(tmp_path, monkeypatch):
    """Each test gets its own data directory and database."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("INTERVIEWER_DB_URL", f"sqlite:///{tmp_path / 'interviewer.db'}")
    yield
