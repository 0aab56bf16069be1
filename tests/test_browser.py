"""End to end in a real Chromium (Playwright driving /usr/bin/chromium) against the real app.

The app runs as `streamlit run app.py` on 127.0.0.1, either against the suite's local
OpenAI-compatible server (the real `openai` client over HTTP) or with no key at all.
Screenshots are saved under test-artifacts/.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from interviewer.bank import load_bank

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

playwright_api = pytest.importorskip("playwright.sync_api")
if not Path(CHROMIUM).exists():
    pytest.skip("Chromium is not installed (make test installs it with apt-get)", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RunningApp:
    def __init__(self, tmp: Path, env_extra: dict[str, str]):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "INTERVIEWER_"))}
        env.update({"INTERVIEWER_DB_URL": f"sqlite:///{tmp / 'app.db'}", "HOME": str(tmp)}, **env_extra)
        self.log = open(tmp / "streamlit.log", "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1",
             "--server.port", str(self.port), "--server.headless", "true", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=1).read() == b"ok":
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("the app did not start: " + (tmp / "streamlit.log").read_text()[-2000:])

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def brain(body: dict):
    """The local model server's replies: interviewer follow-ups (streamed) and judge verdicts (JSON)."""
    messages = body.get("messages", [])
    last = messages[-1]["content"] if messages else ""
    if body.get("response_format"):
        user = next(m["content"] for m in messages if m["role"] == "user")
        ids = [i.strip() for i in user.rsplit("Return one entry for each of these ids:", 1)[1].split(",")]
        answer = re.search(r"<<ANSWER-\w+>>\n(.*)\n<<END-ANSWER-\w+>>", user, re.S).group(1)
        first = re.split(r"(?<=[.!?])\s+", answer.strip())[0]
        return {"items": [{"id": i, "sentences": [1] if k % 2 == 0 and len(first) > 10 else [], "reason": "r"}
                          for k, i in enumerate(ids)]}
    item = re.search(r'has not covered: "([^"]+)"', last)
    topic = item.group(1) if item else "that"
    return f"<notes>probe {topic}</notes>Let's dig into one part: how would you handle {topic.lower()}?"


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture()
def offline_app(tmp_path):
    app = RunningApp(tmp_path, {})
    yield app
    app.stop()


@pytest.fixture()
def model_app(tmp_path, openai_server):
    openai_server.set_handler(brain)
    app = RunningApp(tmp_path, {"OPENAI_BASE_URL": openai_server.base_url, "INTERVIEWER_MODEL": "local-model",
                                "INTERVIEWER_MAX_RETRIES": "0", "INTERVIEWER_TIMEOUT_S": "10"})
    app.server = openai_server
    yield app
    app.stop()


def _page(browser, width=1280, height=800):
    ctx = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
    page = ctx.new_page()
    page.set_default_timeout(30_000)
    return page


def _shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def _idle(page, timeout_ms: int = 30_000) -> None:
    """Wait until no script run is replacing elements (Streamlit marks them stale meanwhile)."""
    page.wait_for_timeout(150)
    page.wait_for_function("() => !document.querySelector('[data-stale=true]')", timeout=timeout_ms)


def _choose(page, index: int, option: str) -> None:
    _idle(page)
    page.locator("div[data-testid=stSelectbox]").nth(index).click()
    page.keyboard.type(option[:40])  # filter: long option lists are virtualised
    page.get_by_role("option", name=option, exact=True).click()
    page.wait_for_timeout(400)
    _idle(page)


def _start_question(page, url: str, kind: str, title: str, practice: bool = False) -> None:
    page.goto(url)
    page.get_by_role("button", name="Start interview").wait_for()
    _choose(page, 0, kind)
    _choose(page, 1, title)
    if practice:
        page.get_by_text("Practice: hints").click()
    page.get_by_role("button", name="Start interview").click()
    page.get_by_test_id("stChatInputTextArea").wait_for()


def _answer(page, text: str) -> None:
    n = page.get_by_test_id("stChatMessage").count()
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(text)
    box.press("Enter")
    # the answer and the interviewer's reply both appear
    page.wait_for_function(f"document.querySelectorAll('[data-testid=stChatMessage]').length >= {n + 2}")
    page.get_by_test_id("stChatInputTextArea").wait_for()
    _settle(page)


def _settle(page, quiet_ms: int = 800, timeout_s: float = 30) -> None:
    """Wait until the app's script run is over: the chat transcript stops changing."""
    deadline = time.time() + timeout_s
    last, since = None, time.time()
    running = ("() => !!document.querySelector('[data-stale=true]')"
               " || (!!document.querySelector('[data-testid=stChatInputTextArea]:disabled')"
               "     && !document.body.innerText.includes('The interview is over'))")
    while time.time() < deadline:
        if page.evaluate(running):  # a script run is still replacing elements
            last, since = None, time.time()
            page.wait_for_timeout(100)
            continue
        now = page.get_by_test_id("stChatMessage").all_inner_texts()
        if now != last:
            last, since = now, time.time()
        elif (time.time() - since) * 1000 >= quiet_ms:
            return
        page.wait_for_timeout(100)


DESIGN_ANSWERS = [
    "First I would clarify requirements: how many users and items, the latency budget, and whether we optimise "
    "watch time or engagement. Then I would collect user interactions such as clicks and watch history, plus content "
    "metadata, and train a collaborative filtering model on them.",
    "For a brand-new user with no history I would fall back to popular items and content-based recommendations from "
    "onboarding preferences, and switch to collaborative filtering once interactions arrive.",
    "I would run an A/B test with an experiment framework, tracking click-through rate and watch time as the north "
    "star, and monitor engagement metrics and model performance in production.",
]


def _run_design_interview(page, app, *, tag: str) -> None:
    _start_question(page, app.url, "System design", "Design a Recommendation System (hard)")
    for answer in DESIGN_ANSWERS:
        _answer(page, answer)
        if page.get_by_text("end of the interview").count():
            break
    interviewer_turns = page.get_by_test_id("stChatMessage").filter(has_text="record_voice_over")
    texts = interviewer_turns.all_inner_texts()
    follow_ups = [t for t in texts if "?" in t and "Design a Recommendation System" not in t]
    assert len(follow_ups) >= 2, texts
    _shot(page, f"{tag}-chat")
    page.get_by_role("button", name="End and score").click()
    page.get_by_text("Your report").wait_for()
    page.locator("mark.evidence").first.wait_for()  # evidence highlighted in the candidate's words


def _review_and_export(page, app, tag: str) -> str:
    if page.viewport_size["width"] >= 800:
        page.get_by_role("link", name="Review").click()
    else:  # on a phone the sidebar is collapsed: open the page by its URL
        page.goto(f"{app.url}/review")
    page.get_by_role("button", name="Export Markdown").wait_for()
    page.wait_for_timeout(800)
    _shot(page, f"{tag}-review")
    with page.expect_download() as info:
        page.get_by_role("button", name="Export Markdown").click()
    md = Path(info.value.path()).read_text()
    assert "# Design a Recommendation System" in md and "## Scores" in md
    return md


def test_recommendation_design_interview_with_a_model(browser, model_app):
    page = _page(browser)
    _run_design_interview(page, model_app, tag="model")
    assert page.get_by_text("LLM judge").count() >= 1
    assert page.get_by_text("Offline estimate").count() == 0
    assert page.get_by_text("notes").count() == 0  # private notes never reach the page
    _shot(page, "model-report")
    md = _review_and_export(page, model_app, "model")
    assert "local-model" in md
    streamed = [r for r in model_app.server.chat_requests if r.get("stream")]
    assert len(streamed) >= 2
    page.context.close()


def test_recommendation_design_interview_offline(browser, offline_app):
    page = _page(browser)
    _run_design_interview(page, offline_app, tag="offline")
    assert page.get_by_text("Offline estimate").count() >= 1
    _shot(page, "offline-report-1280x800")
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(1200)
    _shot(page, "offline-report-390x844")
    _review_and_export(page, offline_app, "offline")
    page.context.close()


def test_refresh_mid_interview_keeps_every_turn(browser, offline_app):
    page = _page(browser)
    _start_question(page, offline_app.url, "Technical", "What is regularization and why is it important? (medium)")
    first = "Regularization is a way to make a model better when you train it on data."
    _answer(page, first)
    before = page.get_by_test_id("stChatMessage").all_inner_texts()
    assert "iid=" in page.url
    page.reload()
    page.get_by_test_id("stChatInputTextArea").wait_for()
    _settle(page)
    after = page.get_by_test_id("stChatMessage").all_inner_texts()
    assert after == before and len(after) == 3
    _shot(page, "refresh-resumed")
    page.context.close()


def test_coding_interview_end_to_end(browser, offline_app):
    q = load_bank().get("knn-from-scratch")
    page = _page(browser, 1280, 1000)
    _start_question(page, offline_app.url, "Coding", "Implement K-Nearest Neighbors from scratch (medium)")
    _answer(page, "Before coding I'd ask how ties are broken and what happens if k is larger than the data. My "
                  "approach: compute the Euclidean distance to every training row, sort, take the k nearest and vote.")
    editor = page.get_by_role("textbox", name="Your solution (Python)")
    editor.fill(q.coding.reference_solution)
    editor.press("Control+Enter")  # commit the text area's value
    page.get_by_role("button", name="Run example tests").click()
    page.get_by_text(re.compile(r"Example tests: (\d+) of \1 passed")).wait_for()
    page.get_by_role("button", name="Submit (hidden tests)").click()
    page.get_by_text(re.compile(r"Hidden tests: (\d+) of \1 passed")).wait_for()
    page.get_by_text("bubblewrap sandbox", exact=False).first.wait_for()
    _shot(page, "coding-ran")
    page.get_by_role("button", name="End and score").click()
    page.get_by_text("Your report").wait_for()
    page.get_by_text(re.compile(r"^Hidden tests passed: (\d+) of \1$")).wait_for()
    _shot(page, "coding-report")
    page.context.close()


def test_a_cold_deep_link_gets_the_apps_own_navigation(browser, offline_app):
    """The very first request to a fresh server is a deep link: it must still run app.py's navigation."""
    page = _page(browser)
    page.goto(f"{offline_app.url}/review")
    page.get_by_text("No saved interviews yet").wait_for()
    links = page.get_by_test_id("stSidebarNavLink").all_inner_texts()
    assert [t.split("\n")[-1] for t in links] == ["Interview", "Review", "Progress", "Question bank", "Settings"]
    assert page.get_by_text("Page not found").count() == 0
    page.context.close()


def test_code_editor_indents_with_the_keyboard(browser, offline_app):
    page = _page(browser, 1280, 1000)
    _start_question(page, offline_app.url, "Coding", "Implement gradient descent (medium)")
    editor = page.get_by_role("textbox", name="Your solution (Python)")
    editor.click()
    editor.press("Control+a")
    editor.press("Delete")
    editor.type("def f(x):")
    editor.press("Enter")
    editor.type("if x:")
    editor.press("Enter")
    editor.type("return x")
    editor.press("Enter")
    editor.press("Shift+Tab")
    editor.press("Tab")
    editor.type("pass")
    assert editor.input_value() == "def f(x):\n    if x:\n        return x\n        pass"
    editor.press("Escape")
    editor.press("Tab")  # released: focus moves on, the text is unchanged
    assert editor.input_value().endswith("pass")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") != "Your solution (Python)"
    page.context.close()


# --------------------------------------------------------------------------- issue 16: screenshots at both sizes

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


def _view(page, locator, name: str) -> Path:
    """Scroll `locator` into view and save what the viewport shows (Streamlit scrolls inside its main block,
    so a full-page shot would only hold the top)."""
    locator.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    ARTIFACTS.mkdir(exist_ok=True)
    size = page.viewport_size
    path = ARTIFACTS / f"{name}-{size['width']}x{size['height']}.png"
    page.screenshot(path=str(path))
    return path


def _in_viewport(page, locator) -> bool:
    box = locator.bounding_box()
    return box is not None and 0 <= box["y"] < page.viewport_size["height"]


def test_a_loop_reaches_its_coding_question_with_the_editor_beside_it(browser, offline_app):
    page = _page(browser)
    page.goto(offline_app.url)
    page.get_by_text("A full loop", exact=True).click()
    page.locator("div[data-testid=stSelectbox]").filter(has_text="Loop").wait_for()
    page.wait_for_timeout(500)
    _choose(page, 0, "New-grad ML screen, 60 min")
    page.get_by_role("button", name="Start interview").click()
    page.get_by_test_id("stChatInputTextArea").wait_for()
    assert page.get_by_text("Loop clock").count() == 1
    editor = page.get_by_role("textbox", name="Your solution (Python)")
    for _ in range(6):
        if editor.count():
            break
        _answer(page, "skip")
    editor.wait_for()
    _settle(page)
    assert page.get_by_text("Earlier in this loop").count() == 1
    assert _in_viewport(page, editor), "the editor sits level with the coding question"
    assert page.get_by_text(re.compile(r"^Question \d of \d · Coding")).count() == 1
    _view(page, editor, "loop-coding-question")
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(800)
    _view(page, page.get_by_test_id("stChatMessage").last, "loop-coding-question")
    page.context.close()


def test_the_coding_panel_after_a_submit(browser, offline_app):
    q = load_bank().get("knn-from-scratch")
    page = _page(browser)
    _start_question(page, offline_app.url, "Coding", "Implement K-Nearest Neighbors from scratch (medium)")
    editor = page.get_by_role("textbox", name="Your solution (Python)")
    editor.fill(q.coding.reference_solution)
    editor.press("Control+Enter")
    page.get_by_role("button", name="Submit (hidden tests)").click()
    page.get_by_text(re.compile(r"Hidden tests: (\d+) of \1 passed")).wait_for()
    page.get_by_text("Best submission").wait_for()
    wrap = page.evaluate("getComputedStyle(document.querySelector('.st-key-code_editor textarea')).whiteSpace")
    assert wrap == "pre"  # no soft wrap
    chat_font = page.evaluate("getComputedStyle(document.querySelector('[data-testid=stChatInputTextArea]')).fontFamily")
    assert "monospace" not in chat_font
    _view(page, page.get_by_text("Best submission"), "coding-after-submit")
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(800)
    _view(page, page.get_by_text("Best submission"), "coding-after-submit")
    page.context.close()


def test_practice_with_hints(browser, offline_app):
    page = _page(browser)
    _start_question(page, offline_app.url, "Technical", "What is regularization and why is it important? (medium)",
                    practice=True)
    page.wait_for_timeout(800)
    assert page.evaluate("document.activeElement.getAttribute('data-testid')") == "stChatInputTextArea"
    for label in ("Nudge", "Approach", "Walkthrough"):  # whole labels, not "Hint: …"
        button = page.get_by_role("button", name=label, exact=True)
        assert button.evaluate("b => [b, ...b.querySelectorAll('*')].every(e => e.scrollWidth <= e.clientWidth + 1)"), label
    page.get_by_role("button", name="Nudge", exact=True).click()
    page.get_by_test_id("stAlertContentInfo").first.wait_for()
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill("   ")
    box.press("Enter")
    page.get_by_text("Your answer is empty").wait_for()
    _answer(page, "Regularization adds a penalty on the weights to the loss to reduce overfitting.")
    _view(page, page.get_by_text("Live checklist"), "practice-hints")
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(800)
    _view(page, page.get_by_role("button", name="Nudge", exact=True), "practice-hints")
    page.context.close()


def test_design_report_chart_and_review_at_both_sizes(browser, offline_app):
    page = _page(browser)
    _run_design_interview(page, offline_app, tag="issue16")
    chart = page.get_by_test_id("stVegaLiteChart").first
    chart.wait_for()
    _view(page, chart, "design-report-chart")
    assert page.get_by_test_id("stMetric").filter(has_text="Overall").count() == 0  # one question: one score
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(1500)
    _view(page, chart, "design-report-chart")
    page.goto(f"{offline_app.url}/review")
    page.get_by_role("button", name="Export Markdown").wait_for()
    page.wait_for_timeout(800)
    assert not page.get_by_test_id("stDataFrame").is_visible()  # a phone gets cards: date, title, kind, score
    card = page.locator(".st-key-rev_card_0")
    assert "Design a Recommendation System" in card.inner_text() and "System design" in card.inner_text()
    assert re.search(r"\b\d{1,3}\b", card.get_by_role("button").inner_text())
    _view(page, page.locator(".st-key-rev_cards"), "review")
    page.get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog")
    dialog.wait_for()
    assert _in_viewport(page, dialog.get_by_role("button", name="Yes, delete"))
    _view(page, dialog, "review-delete")
    dialog.get_by_role("button", name="Cancel").click()
    page.set_viewport_size(DESKTOP)
    page.wait_for_timeout(800)
    assert page.get_by_test_id("stDataFrame").is_visible() and not page.locator(".st-key-rev_cards").is_visible()
    _view(page, page.get_by_test_id("stDataFrame"), "review")
    page.context.close()


def test_question_bank_search_for_knn_and_practise_it(browser, offline_app):
    page = _page(browser)
    page.goto(f"{offline_app.url}/question_bank")
    search = page.get_by_role("textbox", name="Search")
    search.fill("knn")
    search.press("Enter")
    first = page.get_by_test_id("stExpander").first
    expect(first).to_contain_text("K-Nearest Neighbors", timeout=30_000)  # the filtered list replaces the full one
    _view(page, search, "bank-search-knn")
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(800)
    _view(page, search, "bank-search-knn")
    page.set_viewport_size(DESKTOP)
    first.get_by_text("Implement K-Nearest Neighbors from scratch").click()
    page.get_by_role("button", name="Practise this").first.click()
    page.get_by_role("textbox", name="Your solution (Python)").wait_for()
    assert "iid=" in page.url
    assert page.get_by_role("button", name="Start interview").count() == 0
    page.context.close()


# --------------------------------------------------------------------------- load: what one run redraws

def _frames(page) -> tuple[list, list]:
    """Every websocket frame the page sends (BackMsg) and receives (ForwardMsg), as they come."""
    sent, got = [], []
    page.on("websocket", lambda ws: (ws.on("framesent", lambda f: sent.append(f)),
                                     ws.on("framereceived", lambda f: got.append(f))))
    return sent, got


def _finished(got: list) -> list[str]:
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    out = []
    for raw in got:
        msg = ForwardMsg.FromString(raw)
        if msg.WhichOneof("type") == "script_finished":
            out.append(ForwardMsg.ScriptFinishedStatus.Name(msg.script_finished))
    return out


def _drawn(got: list) -> list[str]:
    """The element and block types the server sent in these frames, in order."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    out = []
    for raw in got:
        msg = ForwardMsg.FromString(raw)
        if msg.WhichOneof("type") == "delta":
            d = msg.delta
            kind = d.WhichOneof("type")
            out.append(d.new_element.WhichOneof("type") if kind == "new_element"
                       else d.add_block.WhichOneof("type") if kind == "add_block" else kind)
    return out


def test_start_is_one_run_and_an_answer_reruns_only_the_interview_fragment(browser, model_app):
    """Per-run server work (bench/bench_load.py): Start draws the interview in the run its click starts (no
    second run), and an answer reruns only the interview's fragment, not the page's navigation and sidebar.
    The answer box still sits pinned at the bottom with the cursor in it, and the sidebar's token count follows
    the reply."""
    from streamlit.proto.BackMsg_pb2 import BackMsg

    page = _page(browser)
    sent, got = _frames(page)
    page.goto(model_app.url)
    start = page.get_by_role("button", name="Start interview")
    start.wait_for()
    _idle(page)
    n = len(got)
    start.click()
    box = page.get_by_test_id("stChatInputTextArea")
    box.wait_for()
    _settle(page)
    assert _finished(got[n:]) == ["FINISHED_SUCCESSFULLY"]  # one run; no FINISHED_EARLY_FOR_RERUN before it
    page.wait_for_timeout(800)
    assert page.evaluate("document.activeElement.getAttribute('data-testid')") == "stChatInputTextArea"
    sidebar = page.get_by_test_id("stSidebar")
    assert re.search(r"\b0 tokens", sidebar.inner_text())
    pinned = box.bounding_box()
    assert pinned["y"] + pinned["height"] > 800 - 120, pinned  # at the bottom of the viewport, as before

    heads = page.get_by_test_id("stHeading").all_inner_texts()
    assert heads, "the interview's title line"
    n_sent, n_got = len(sent), len(got)
    _answer(page, "Regularization adds a penalty on the weights to the loss so the model does not overfit.")
    reruns = [m.rerun_script for m in map(BackMsg.FromString, sent[n_sent:]) if m.WhichOneof("type") == "rerun_script"]
    assert len(reruns) == 1 and reruns[0].fragment_id, reruns  # the browser asks for the fragment only
    assert _finished(got[n_got:]) == ["FINISHED_FRAGMENT_RUN_SUCCESSFULLY"]
    texts = page.get_by_test_id("stChatMessage").all_inner_texts()
    assert len(texts) == 3 and "record_voice_over" in texts[-1] and "?" in texts[-1]  # the reply is shown
    assert any(r.get("stream") for r in model_app.server.chat_requests)  # streamed from the model
    assert page.get_by_test_id("stChatInputTextArea").bounding_box() == pinned
    assert re.search(r"\b[1-9][\d,]* tokens", sidebar.inner_text()), sidebar.inner_text()  # the reply's tokens
    assert page.get_by_test_id("stSidebarNavLink").count() == 5  # the navigation is still there
    # The title line, its buttons and the question drawn by Start stay; the answer's run sends only the answer box,
    # the new turns and the token count, not them again (bench/bench_load.py: fewer messages per turn).
    drawn = _drawn(got[n_got:])
    assert drawn.count("chat_message") == 2 and "heading" not in drawn and "button" not in drawn, drawn
    assert page.get_by_role("button", name="End and score").is_visible()
    assert page.get_by_test_id("stHeading").all_inner_texts() == heads

    n_got = len(got)
    _answer(page, "L1 pushes weights to exactly zero and gives sparse models; L2 shrinks all weights smoothly.")
    assert _finished(got[n_got:]) == ["FINISHED_FRAGMENT_RUN_SUCCESSFULLY"]
    texts = page.get_by_test_id("stChatMessage").all_inner_texts()
    assert len(texts) == 5, texts  # every turn once: the question, two answers, two replies
    assert "Regularization adds a penalty" in texts[1] and "L1 pushes weights" in texts[3]
    assert _drawn(got[n_got:]).count("chat_message") == 4  # the turns since Start's run, not the question again
    page.context.close()
