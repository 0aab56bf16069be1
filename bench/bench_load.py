"""N simulated users against ONE app server, in real headless Chromium pages, with the local
OpenAI-compatible test server answering every model call after 1 s (streamed).

Each user opens the app, starts an interview and sends `--turns` answers; a turn's latency is Enter
pressed until the interviewer's whole reply is on screen and the answer box is usable again. After the
run every interview is read back from the database: a turn is lost if an answer or its reply is missing.

Run: .venv/bin/python bench/bench_load.py [--users 1 10 50] [--turns 3]
Prints p50/p95 turn latency, errors and lost turns per N, and the ratio of p95 to one user's p95.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.async_api import async_playwright  # noqa: E402

from interviewer.store import Store  # noqa: E402
from tests.openai_server import FakeOpenAIServer  # noqa: E402

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
REPLY_DELAY_S = 1.0
ANSWERS = [
    "Regularization adds a penalty on the weights to the loss so the model does not overfit the training data.",
    "L1 pushes weights to exactly zero and gives sparse models; L2 shrinks all weights smoothly.",
    "I would tune the strength on a validation set with cross-validation and watch the validation loss.",
]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _reply(body: dict) -> str:
    time.sleep(REPLY_DELAY_S)  # the server is threaded: concurrent requests wait in parallel
    return "Thanks. How would you pick the regularization strength for this model, and what would you watch?"


def start_app(env: dict) -> tuple[subprocess.Popen, str]:
    port = _port()
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1",
                             "--server.port", str(port), "--server.headless", "true",
                             "--browser.gatherUsageStats", "false"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the app did not start")


async def one_user(browser, url: str, turns: int, latencies: list[float], errors: list[str]) -> None:
    ctx = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await ctx.new_page()
    page.set_default_timeout(120_000)
    try:
        await page.goto(url)
        await page.get_by_role("button", name="Start interview").click()
        box = page.get_by_test_id("stChatInputTextArea")
        await box.wait_for()
        for i in range(turns):
            n = await page.get_by_test_id("stChatMessage").count()
            await page.wait_for_function(
                "() => { const b = document.querySelector('[data-testid=stChatInputTextArea]');"
                " return b && !b.disabled; }")
            await box.fill(ANSWERS[i % len(ANSWERS)])
            t0 = time.perf_counter()
            await box.press("Enter")
            # the answer and the whole reply are on screen, and the box takes the next answer
            await page.wait_for_function(
                f"() => document.querySelectorAll('[data-testid=stChatMessage]').length >= {n + 2}"
                " && (!document.querySelector('[data-testid=stChatInputTextArea]').disabled"
                "     || document.body.innerText.includes('The interview is over'))")
            latencies.append(time.perf_counter() - t0)
            alerts = await page.get_by_test_id("stAlertContentError").all_inner_texts()
            if alerts:
                errors.append(alerts[0][:120])
    except Exception as exc:  # noqa: BLE001 - a benchmark counts failures, it does not stop on them
        errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}")
    finally:
        await ctx.close()


def lost_turns(db_url: str, users: int, turns: int) -> int:
    """Answers or replies missing from the database, over every interview of this run."""
    store = Store(db_url)
    records = [store.get(r.id) for r in store.list(limit=10_000)]
    lost = max(0, users - len(records)) * turns * 2
    for rec in records:
        answers = sum(1 for t in rec.turns if t.role == "candidate")
        replies = sum(1 for t in rec.turns if t.role == "interviewer" and t.kind != "question")
        lost += max(0, turns - answers) + max(0, turns - replies)
    return lost


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(q * (len(values) - 1))))
    return values[k]


async def run(users_list: list[int], turns: int) -> None:
    server = FakeOpenAIServer().start()
    server.set_handler(_reply)
    tmp = Path(tempfile.mkdtemp())
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "INTERVIEWER_"))}
    rows = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for users in users_list:
            db_url = f"sqlite:///{tmp}/load{users}.db"
            env = base | {"OPENAI_BASE_URL": server.base_url, "INTERVIEWER_MODEL": "local-model",
                          "INTERVIEWER_MAX_RETRIES": "0", "INTERVIEWER_TIMEOUT_S": "120",
                          "INTERVIEWER_DB_URL": db_url, "HOME": str(tmp)}
            proc, url = start_app(env)
            latencies: list[float] = []
            errors: list[str] = []
            t0 = time.perf_counter()
            try:
                await asyncio.gather(*(one_user(browser, url, turns, latencies, errors) for _ in range(users)))
            finally:
                proc.terminate()
                proc.wait(timeout=20)
            wall = time.perf_counter() - t0
            rows.append((users, pct(latencies, 0.5), pct(latencies, 0.95), len(latencies), len(errors),
                         lost_turns(db_url, users, turns), wall, errors[:3]))
        await browser.close()
    server.stop()
    print(f"Load benchmark: one app server (streamlit run app.py, SQLite), N users in headless Chromium, "
          f"{turns} answers each; the local model server replies after {REPLY_DELAY_S:.0f} s (streamed).")
    print("turn latency = Enter pressed until the whole reply is on screen and the answer box is usable again")
    one_p95 = rows[0][2] if rows and rows[0][0] == 1 else None
    for users, p50, p95, n, errs, lost, wall, samples in rows:
        ratio = f"   p95/1-user p95 {p95 / one_p95:.2f}" if one_p95 else ""
        print(f"N={users:>3}: p50 {p50:.2f} s   p95 {p95:.2f} s   turns {n}   errors {errs}   lost turns {lost}   "
              f"wall {wall:.0f} s{ratio}")
        for s in samples:
            print(f"        e.g. {s}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, nargs="+", default=[1, 10, 50])
    ap.add_argument("--turns", type=int, default=2, help="answers per user (one question takes two follow-ups)")
    args = ap.parse_args()
    asyncio.run(run(args.users, args.turns))


if __name__ == "__main__":
    main()
