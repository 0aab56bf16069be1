"""N simulated users against ONE app server, with the local OpenAI-compatible test server answering
every model call after 1 s (streamed).

Each user opens the app, clicks *Start interview* and sends `--turns` answers. By default a user is a
websocket client speaking Streamlit's own protocol (what the browser sends: a rerun with the widget's
value), so 50 users fit on a small machine and the figures measure the server, not 50 browsers; with
`--client browser` every user is a headless Chromium page instead. A turn's latency is the answer sent
until the script run that streams the whole reply has finished. After the run every interview is read
back from the database: a turn is lost if an answer that was sent, or its reply, is missing.

Run: .venv/bin/python bench/bench_load.py [--users 1 10 50] [--turns 2] [--client ws|browser] [--warm]
Prints p50/p95 turn latency, errors and lost turns per N, the server's CPU time, and the ratio of p95 to one
user's p95. Every N gets a fresh (cold) server; `--warm` (an extra mode, not the default figure) first sends one
user through the page, Start and one answer, so the burst meets a server that has its imports and bank loaded.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
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


class WsUser:
    """One browser tab, as the Streamlit server sees it: a websocket exchanging protobuf messages."""

    def __init__(self, url: str):
        self.url = url.replace("http://", "ws://") + "/_stcore/stream"
        self.widgets: dict[str, str] = {}  # "start" / "answer" -> widget id
        self.fragments: dict[str, str] = {}  # "answer" -> the fragment the widget was drawn in, if any
        self.texts: list[str] = []

    async def __aenter__(self):
        import websockets

        self.ws = await websockets.connect(self.url, subprotocols=["streamlit"], max_size=None,
                                           open_timeout=120, ping_interval=None)
        return self

    async def __aexit__(self, *exc):
        await self.ws.close()

    async def rerun(self, states: list | None = None, fragment_id: str = "") -> None:
        """Send a rerun (what a click or Enter sends) and wait until the app's script run is over. A widget drawn
        inside an st.fragment reruns only that fragment: the browser sends the fragment's id with its value
        (`fragment_id`), and the run ends with FINISHED_FRAGMENT_RUN_SUCCESSFULLY."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ClientState_pb2 import ClientState
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
        from streamlit.proto.WidgetStates_pb2 import WidgetStates

        msg = BackMsg(rerun_script=ClientState(query_string="", page_script_hash="", fragment_id=fragment_id,
                                               widget_states=WidgetStates(widgets=states or [])))
        await self.ws.send(msg.SerializeToString())
        self.texts = []
        while True:
            raw = await asyncio.wait_for(self.ws.recv(), timeout=180)
            fm = ForwardMsg()
            fm.ParseFromString(raw)
            kind = fm.WhichOneof("type")
            if kind == "delta" and fm.delta.WhichOneof("type") == "new_element":
                el = fm.delta.new_element
                which = el.WhichOneof("type")
                if which == "button" and el.button.label == "Start interview":
                    self.widgets["start"] = el.button.id
                elif which == "chat_input":
                    self.widgets["answer"] = el.chat_input.id
                    self.fragments["answer"] = fm.delta.fragment_id
                elif which == "markdown":
                    self.texts.append(el.markdown.body)
                elif which == "alert" and el.alert.format == 1:  # ERROR
                    raise RuntimeError(el.alert.body[:120])
            elif kind == "script_finished" and fm.script_finished in (
                    ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY):
                return
            elif kind == "session_status_changed" and not fm.session_status_changed.script_is_running:
                pass


async def one_ws_user(url: str, turns: int, latencies: list[float], errors: list[str], sent: list[int]) -> None:
    from streamlit.proto.Common_pb2 import ChatInputValue
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    try:
        async with WsUser(url) as user:
            await user.rerun()
            await user.rerun([WidgetState(id=user.widgets["start"], trigger_value=True)])
            if "answer" not in user.widgets:  # Start reruns the script once more (st.rerun)
                await user.rerun()
            for i in range(turns):
                t0 = time.perf_counter()
                sent.append(1)
                await user.rerun([WidgetState(id=user.widgets["answer"],
                                              chat_input_value=ChatInputValue(data=ANSWERS[i % len(ANSWERS)]))],
                                 fragment_id=user.fragments.get("answer", ""))
                latencies.append(time.perf_counter() - t0)
    except Exception as exc:  # noqa: BLE001 - a benchmark counts failures, it does not stop on them
        errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else ''}")


async def one_user(browser, url: str, turns: int, latencies: list[float], errors: list[str],
                   sent: list[int]) -> None:
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
            sent.append(1)
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


def lost_turns(db_url: str, sent: int) -> int:
    """Answers sent whose answer or reply is missing from the database (over every interview of the run)."""
    store = Store(db_url)
    records = [store.get(r.id) for r in store.list(limit=10_000)]
    answers = sum(1 for rec in records for t in rec.turns if t.role == "candidate")
    replies = sum(1 for rec in records for t in rec.turns if t.role == "interviewer" and t.kind != "question")
    return max(0, sent - answers) + max(0, sent - replies)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc), or NaN elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(q * (len(values) - 1))))
    return values[k]


async def run(users_list: list[int], turns: int, client: str, warm: bool = False) -> None:
    server = FakeOpenAIServer().start()
    server.set_handler(_reply)
    tmp = Path(tempfile.mkdtemp())
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "INTERVIEWER_"))}
    rows = []
    async with async_playwright() as p:  # only used with --client browser
        browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS) if client == "browser" else None
        for users in users_list:
            db_url = f"sqlite:///{tmp}/load{users}.db"
            env = base | {"OPENAI_BASE_URL": server.base_url, "INTERVIEWER_MODEL": "local-model",
                          "INTERVIEWER_MAX_RETRIES": "0", "INTERVIEWER_TIMEOUT_S": "120",
                          "INTERVIEWER_DB_URL": db_url, "HOME": str(tmp)}
            proc, url = start_app(env)
            latencies: list[float] = []
            errors: list[str] = []
            sent: list[int] = []
            warm_sent: list[int] = []
            if warm:  # --warm: one user loads the page, starts and answers once before the timed burst
                await one_ws_user(url, 1, [], errors, warm_sent)
            t0 = time.perf_counter()
            cpu0 = cpu_seconds(proc.pid)
            try:
                if client == "browser":
                    await asyncio.gather(*(one_user(browser, url, turns, latencies, errors, sent)
                                           for _ in range(users)))
                else:
                    await asyncio.gather(*(one_ws_user(url, turns, latencies, errors, sent) for _ in range(users)))
            finally:
                cpu = cpu_seconds(proc.pid) - cpu0
                proc.terminate()
                proc.wait(timeout=20)
            wall = time.perf_counter() - t0
            rows.append((users, pct(latencies, 0.5), pct(latencies, 0.95), len(latencies), len(errors),
                         lost_turns(db_url, len(sent) + len(warm_sent)), wall, cpu, errors[:3]))
        if browser is not None:
            await browser.close()
    server.stop()
    who = "headless Chromium pages" if client == "browser" else "websocket clients (Streamlit's protocol)"
    print(f"Load benchmark: one app server (streamlit run app.py, SQLite), N users as {who}, "
          f"{turns} answers each; the local model server replies after {REPLY_DELAY_S:.0f} s (streamed).")
    if warm:
        print("--warm: before the burst one user loaded the page, started and answered once (a warm server: "
              "imports, the bank, the model client); NOT the default figure, which starts from a cold server")
    print("turn latency = answer sent until the script run streaming the whole reply has finished")
    one_p95 = rows[0][2] if rows and rows[0][0] == 1 else None
    print("server CPU = the app server's CPU time from its health check to the last turn (every user's page load and "
          "Start included, and without --warm the first page's imports), divided by the turns")
    for users, p50, p95, n, errs, lost, wall, cpu, samples in rows:
        ratio = f"   p95/1-user p95 {p95 / one_p95:.2f}" if one_p95 else ""
        print(f"N={users:>3}: p50 {p50:.2f} s   p95 {p95:.2f} s   turns {n}   errors {errs}   lost turns {lost}   "
              f"wall {wall:.0f} s   server CPU {cpu:.1f} s ({1000 * cpu / max(n, 1):.0f} ms/turn){ratio}")
        for s in samples:
            print(f"        e.g. {s}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, nargs="+", default=[1, 10, 50])
    ap.add_argument("--turns", type=int, default=2, help="answers per user (one question takes two follow-ups)")
    ap.add_argument("--client", choices=["ws", "browser"], default="ws")
    ap.add_argument("--warm", action="store_true",
                    help="extra mode, not the default figure: warm the server with one user before the burst")
    args = ap.parse_args()
    if args.warm and args.client != "ws":
        ap.error("--warm needs --client ws")
    asyncio.run(run(args.users, args.turns, args.client, args.warm))


if __name__ == "__main__":
    main()
