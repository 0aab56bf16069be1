"""Cold start to interactive, and submit-to-first-token on screen, in Chromium: this app versus a
hello-world Streamlit chat app, both talking to the same local OpenAI-compatible server.

Run: .venv/bin/python bench/bench_ui.py [--repeat N]
Prints each figure (median of N runs, seconds) and its ratio to the hello-world app.
"""

from __future__ import annotations

import argparse
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

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.openai_server import FakeOpenAIServer  # noqa: E402

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
MARK = "FIRSTTOKEN"

HELLO = '''
import os
import streamlit as st
from openai import OpenAI

client = OpenAI(base_url=os.environ["OPENAI_BASE_URL"], api_key="x", max_retries=0)
st.title("Hello chat")
if "msgs" not in st.session_state:
    st.session_state.msgs = []
for m in st.session_state.msgs:
    with st.chat_message(m["role"]):
        st.markdown(m["content"])
if prompt := st.chat_input("Say something"):
    st.session_state.msgs.append({"role": "user", "content": prompt})
    with st.chat_message("user"):
        st.markdown(prompt)
    with st.chat_message("assistant"):
        stream = client.chat.completions.create(model="m", messages=st.session_state.msgs, stream=True)
        text = st.write_stream(c.choices[0].delta.content or "" for c in stream if c.choices)
    st.session_state.msgs.append({"role": "assistant", "content": text})
'''


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(script: str, env: dict) -> tuple[subprocess.Popen, str, float]:
    port = _port()
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", script, "--server.address", "127.0.0.1",
                             "--server.port", str(port), "--server.headless", "true",
                             "--browser.gatherUsageStats", "false"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    while True:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                break
        except OSError:
            time.sleep(0.05)
    return proc, url, t0


def measure(browser, script: str, env: dict, *, ours: bool) -> tuple[float, float]:
    proc, url, t0 = _launch(script, env)
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.set_default_timeout(60_000)
        page.goto(url)
        if ours:
            page.get_by_role("button", name="Start interview").wait_for()
        else:
            page.get_by_test_id("stChatInputTextArea").wait_for()
        cold = time.perf_counter() - t0
        if ours:
            page.get_by_role("button", name="Start interview").click()
        box = page.get_by_test_id("stChatInputTextArea")
        box.wait_for()
        box.fill("Regularization is a way to make a model better when you train it on data.")
        t1 = time.perf_counter()
        box.press("Enter")
        page.get_by_text(MARK).first.wait_for()
        first = time.perf_counter() - t1
        page.close()
        return cold, first
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    server = FakeOpenAIServer().start()
    server.set_handler(lambda body: f"{MARK} and then the rest of the follow-up question, what would you do next?")
    tmp = Path(tempfile.mkdtemp())
    hello = tmp / "hello.py"
    hello.write_text(HELLO)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "INTERVIEWER_"))}
    env_model = base | {"OPENAI_BASE_URL": server.base_url, "INTERVIEWER_MAX_RETRIES": "0"}
    results: dict[str, list[tuple[float, float]]] = {"hello": [], "app": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for i in range(args.repeat):
            results["hello"].append(measure(browser, str(hello), env_model, ours=False))
            env = env_model | {"INTERVIEWER_DB_URL": f"sqlite:///{tmp}/bench{i}.db"}
            results["app"].append(measure(browser, "app.py", env, ours=True))
        browser.close()
    server.stop()
    med = {k: (statistics.median(c for c, _ in v), statistics.median(f for _, f in v)) for k, v in results.items()}
    print(f"UI benchmark, median of {args.repeat} runs, headless Chromium, both apps on 127.0.0.1 against the same "
          "local OpenAI-compatible server (streaming)")
    print("cold start = process launch until the first interactive control is visible; "
          "submit-to-first-token = Enter pressed until the reply's first token is on screen")
    print(f"cold start:            app {med['app'][0]:.2f} s   hello-world {med['hello'][0]:.2f} s   "
          f"ratio {med['app'][0] / med['hello'][0]:.2f}")
    print(f"submit-to-first-token: app {med['app'][1]:.3f} s   hello-world {med['hello'][1]:.3f} s   "
          f"ratio {med['app'][1] / med['hello'][1]:.2f}")


if __name__ == "__main__":
    main()
