"""The web chat in a real browser: `zhiwen serve` on a loopback port, driven by headless Chromium.

Needs the Debian packages `chromium` and `fonts-noto-cjk` (`make browser-deps`; never
`playwright install`). Screenshots go to tests/ui/screenshots/ (gitignored); the chat
screenshot is also copied to ui/assets/chat.png for the README when
ZHIWEN_UPDATE_SCREENSHOT=1 is set (`make screenshot`), so test runs leave the tree clean.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import free_port, serve_command

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "tests" / "ui" / "screenshots"
README_SHOT = REPO / "ui" / "assets" / "chat.png"
CHROMIUM = Path("/usr/bin/chromium")
API_KEY = "test-key"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
QUESTION = "十三届八次全会有哪些人出席？"
FOLLOW_UP = "这次会议是哪天召开的？"
TIMEOUT_MS = 90_000

BRIDGE = (
    "星沙大桥今日通车\n\n2021-05-06 10:00:00 长沙晚报\n\n---\n\n"
    "长沙晚报5月6日讯 星沙大桥今天上午正式通车，全长1.2公里，由市交通局负责建设。\n"
)
EVIL_TEXT = (
    "转义测试：这段正文里有 <script>window.__pwned=1</script> 和 "
    '<img src=x onerror="window.__pwned=1"> 以及 ![x](http://evil.invalid/x.png) 三种写法。'
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(
            f"{CHROMIUM} is missing: install the Debian packages with "
            "`apt-get install chromium fonts-noto-cjk` (or `make browser-deps`) to run the browser tests"
        )
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the dev extra)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def server(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`zhiwen serve` with the real default embedder over a fresh index of the seeds."""
    tmp = tmp_path_factory.mktemp("serve")
    port = free_port()
    env = {
        **os.environ,
        "ZHIWEN_INDEX": str(tmp / "index"),
        "ZHIWEN_SEEDS": str(REPO / "seeds"),
        "ZHIWEN_API_KEY": API_KEY,
        "ZHIWEN_EMBEDDER": "use",
        "GRADIO_ANALYTICS_ENABLED": "False",
    }
    log_path = tmp / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(serve_command(port), cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"

    def log_tail() -> str:
        return log_path.read_text("utf-8", "replace")[-3000:]

    try:
        deadline = time.monotonic() + 300
        while True:
            if proc.poll() is not None:
                pytest.fail(f"zhiwen serve exited with {proc.returncode}:\n{log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                pytest.fail(f"zhiwen serve was not ready within 300 s:\n{log_tail()}")
            time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Page:
    """A browser tab on the chat, recording every request and dialog it makes."""

    def __init__(self, browser: Any, base: str) -> None:
        self.base = base
        self.context = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="zh-CN")
        self.page = self.context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("dialog", self._dialog)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def open(self) -> None:
        self.page.goto(f"{self.base}/", wait_until="domcontentloaded")
        # a Gradio page keeps a live connection open: wait for elements, never for networkidle
        self.question_box.wait_for()

    @property
    def question_box(self) -> Any:
        return self.page.locator("#zw-question textarea, #zw-question input").first

    def answers(self) -> Any:
        return self.page.locator("#zw-chat .zw-answer")

    def ask(self, question: str) -> Any:
        """Type a question, press Enter, wait for the finished answer bubble; return it."""
        n = self.answers().count()
        self.question_box.fill(question)
        self.question_box.press("Enter")
        answer = self.answers().nth(n)
        answer.locator(".zw-sources, .zw-note").first.wait_for()
        return answer

    def tab(self, name: str) -> None:
        self.page.get_by_role("tab", name=name).click()

    def shot(self, name: str, **kw: Any) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), **kw)
        return path

    def scroll_chat_top(self) -> None:
        """Scroll the chat's own scroll box back to its first message."""
        self.page.locator("#zw-chat .zw-q").first.evaluate(
            """el => {
                let box = el.parentElement;
                while (box && box.scrollHeight <= box.clientHeight) box = box.parentElement;
                if (box) box.scrollTop = 0;
            }"""
        )

    def offsite(self) -> list[str]:
        return [u for u in self.requests if not u.startswith("http://127.0.0.1")]

    def pwned(self) -> Any:
        return self.page.evaluate("() => window.__pwned")

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Page]:
    p = Page(browser, server)
    yield p
    p.close()


def test_chat_answers_cites_switches_script_follows_up_and_ingests(page: Page, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page.open()
    assert page.page.url.rstrip("/").endswith("/ui"), "/ should redirect to the chat"

    # -- a question, answered with names and a numbered source card
    answer = page.ask(QUESTION)
    text = answer.locator(".zw-text")
    expect(text).to_contain_text("朱健")
    expect(text).to_contain_text("程水泉")
    card = answer.locator(".zw-card").filter(has=page.page.locator("mark.zw-hl", has_text="朱健"))
    expect(card).to_have_count(1)
    expect(card.locator(".zw-title")).to_have_text("奋力开创制造业高质量发展新局面")
    expect(card.locator(".zw-meta")).to_contain_text("华夏经纬网")
    expect(card.locator(".zw-meta")).to_contain_text("2019-09-25")
    page.scroll_chat_top()
    shot = page.shot("chat")
    if os.environ.get("ZHIWEN_UPDATE_SCREENSHOT") == "1":
        README_SHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, README_SHOT)

    # -- its [n] marker leads to the card; the card opens the whole article, quote marked in place
    n = card.get_attribute("id").rsplit("c", 1)[1]  # type: ignore[union-attr]
    marker = text.locator(f'a.zw-ref[href$="-c{n}"]')
    expect(marker).to_have_count(1)
    page.scroll_chat_top()
    marker.click()
    expect(card).to_be_in_viewport()
    full = card.locator(".zw-fulltext")
    expect(full).to_be_hidden()
    card.locator("details.zw-article summary").click()
    expect(full).to_be_visible()
    expect(full).to_contain_text("出席全会的市委委员应到57人")  # the rest of the article
    expect(full.locator("mark.zw-hl")).to_contain_text("朱健、程水泉")
    page.shot("chat-article")

    # -- 简/繁: the answer text changes script, the quotes stay as published
    page.page.locator("#zw-script").get_by_text("繁體").click()
    expect(text).to_contain_text("市領導")
    expect(card.locator("blockquote.zw-passage")).to_contain_text("市领导")
    page.shot("chat-traditional")
    page.page.locator("#zw-script").get_by_text("按提问").click()
    expect(text).to_contain_text("市领导")

    # -- a follow-up uses the conversation
    follow = page.ask(FOLLOW_UP)
    expect(follow.locator(".zw-rewritten")).to_contain_text("已按上文理解为")
    expect(follow.locator(".zw-text")).to_contain_text("9月24日")
    expect(page.page.locator("#zw-chat .zw-q")).to_have_count(2)
    page.shot("chat-follow-up")

    # -- a new conversation; no answer: a clear "not found" state with the nearest passages
    page.page.locator("#zw-clear").click()
    expect(page.page.locator("#zw-chat .zw-q")).to_have_count(0)
    nothing = page.ask("火星上有没有水？")
    expect(nothing).to_have_class("zw-answer zw-notfound")
    expect(nothing.locator(".zw-text")).to_contain_text("没有找到")
    expect(nothing.locator(".zw-sources-head")).to_have_text("最接近的段落")
    assert nothing.locator(".zw-suggestion").count() >= 1
    page.shot("chat-not-found")

    # -- knowledge base: counts, upload with per-file errors, then find the article
    page.tab("知识库")
    stats = page.page.locator("#zw-stats .zw-stats")
    expect(stats).to_contain_text("篇文章")
    before = int(page.page.locator("#zw-stats b.zw-count").first.inner_text())
    good = tmp_path / "xingsha-bridge.txt"
    good.write_text(BRIDGE, "utf-8")
    bad = tmp_path / "notes.pdf"
    bad.write_bytes(b"%PDF-1.4 not an article")
    page.page.locator("#zw-key input").fill(API_KEY)
    page.page.locator("#zw-files input[type=file]").set_input_files([str(good), str(bad)])
    for name in ("xingsha-bridge.txt", "notes.pdf"):  # uploaded to the server: a download link shows
        expect(page.page.locator(f'#zw-files a[href$="/{name}"]')).to_have_count(1)
    page.page.locator("#zw-upload").click()
    status = page.page.locator("#zw-upload-status")
    expect(status.locator(".zw-job-succeeded")).to_be_visible()
    expect(status).to_contain_text("新增 1 篇")
    expect(status.locator(".zw-errors")).to_contain_text("notes.pdf")
    expect(page.page.locator("#zw-stats b.zw-count").first).to_have_text(str(before + 1))
    page.page.locator("#zw-search textarea, #zw-search input").first.fill("星沙大桥")
    page.page.locator("#zw-search-btn").click()
    row = page.page.locator("#zw-list details.zw-article-row", has_text="星沙大桥今日通车")
    expect(row).to_have_count(1)
    page.shot("knowledge-base", full_page=True)
    storage = page.page.evaluate("() => JSON.stringify([{...localStorage}, {...sessionStorage}])")
    assert API_KEY not in storage, "the API key must not be stored in the browser"

    # -- and the chat answers from it
    page.tab("问答")
    bridge = page.ask("星沙大桥全长多少？")
    expect(bridge.locator(".zw-text")).to_contain_text("1.2公里")
    expect(bridge.locator(".zw-card .zw-title").first).to_have_text("星沙大桥今日通车")
    page.shot("chat-uploaded")

    assert page.offsite() == [], f"requests left 127.0.0.1: {page.offsite()}"
    assert page.dialogs == []


def test_article_with_html_and_script_is_shown_inert(page: Page, server: str) -> None:
    from playwright.sync_api import expect

    r = httpx.post(
        f"{server}/v1/articles",
        json={
            "articles": [
                {
                    "id": "xss-test",
                    "title": '转义测试<img src=x onerror="window.__pwned=1">',
                    "text": EVIL_TEXT,
                    "source": "<b>测试来源</b>",
                    "published": "2021-03-04",
                }
            ]
        },
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=60,
    )
    assert r.status_code == 201, r.text

    page.open()
    page.tab("知识库")
    page.page.locator("#zw-search textarea, #zw-search input").first.fill("转义测试")
    page.page.locator("#zw-search-btn").click()
    row = page.page.locator("#zw-list details.zw-article-row")
    expect(row).to_have_count(1)
    expect(row.locator("summary")).to_contain_text('转义测试<img src=x onerror="window.__pwned=1">')
    expect(row.locator("summary")).to_contain_text("<b>测试来源</b>")
    row.locator("summary").click()
    body = row.locator(".zw-fulltext")
    expect(body).to_be_visible()
    expect(body).to_have_text(EVIL_TEXT)
    assert page.page.locator("#zw-list img, #zw-list script, #zw-list b").count() == 0
    page.shot("inert-article")

    # the same article cited in the chat stays inert too
    page.tab("问答")
    answer = page.ask("转义测试的正文里有哪三种写法？")
    assert answer.locator("img, script").count() == 0
    expect(answer).to_contain_text("转义测试")
    page.shot("inert-chat")

    assert page.pwned() is None, "markup from an article ran in the page"
    assert page.dialogs == []
    assert page.offsite() == [], f"requests left 127.0.0.1: {page.offsite()}"


def test_upload_works_through_the_key_guarded_route_under_the_csp(page: Page, tmp_path: Path) -> None:
    """The upload route needs the key: the page sends it as a session cookie set as the key is
    typed; uploads then go in, and the page runs under X-Frame-Options/CSP without violations."""
    from playwright.sync_api import expect

    violations: list[str] = []
    page.page.on(
        "console",
        lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    page.open()
    page.tab("知识库")
    expect(page.page.locator("#zw-stats .zw-stats")).to_contain_text("篇文章")
    before = int(page.page.locator("#zw-stats b.zw-count").first.inner_text())
    # an article of its own: the module's server already holds the first test's upload
    good = tmp_path / "xingsha-bridge-csp.txt"
    good.write_text(BRIDGE.replace("大桥", "二桥"), "utf-8")
    page.page.locator("#zw-key input").fill(API_KEY)
    page.page.locator("#zw-files input[type=file]").set_input_files([str(good)])
    expect(page.page.locator('#zw-files a[href$="/xingsha-bridge-csp.txt"]')).to_have_count(1)
    page.page.locator("#zw-upload").click()
    status = page.page.locator("#zw-upload-status")
    expect(status.locator(".zw-job-succeeded")).to_be_visible()
    expect(page.page.locator("#zw-stats b.zw-count").first).to_have_text(str(before + 1))
    assert violations == [], violations
    assert page.offsite() == [], f"requests left 127.0.0.1: {page.offsite()}"
