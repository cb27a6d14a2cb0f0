"""The Gradio web chat, mounted into the API's FastAPI process at `/ui`.

Every write and question goes through the API's service layer (`server.service`: the same
key check, limits, write gate and upload jobs as the HTTP routes); the index and the service
are read from `app.state` at request time (`app.state.index` is None while the lifespan opens
it). Uploads are taken only from Gradio's upload folder, whose route needs the key (see
`server.guard`), so a payload naming any other server path is refused.
Offline by construction: Gradio analytics off, system fonts only, no external scripts.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import time
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported

import gradio as gr
from fastapi import FastAPI

from rag import Filters, Index, Turn
from rag.errors import InputError, NotFoundError, ZhiwenError
from rag.ingest import SUPPORTED_TYPES
from rag.records import Article
from rag.settings import Settings
from server.errors import ApiError, storage_error
from server.guard import KEY_COOKIE, was_received
from server.jobs import JobRegistry
from server.service import SLOT_WAIT_S, Service, Upload
from server.service import check_key as service_check_key
from server.service import writes_enabled as writes_enabled
from ui.render import (
    SCRIPT_CHOICES,
    TurnRecord,
    article_list_html,
    chat_messages,
    esc,
    job_html,
    notice_html,
    stats_html,
)

logger = logging.getLogger(__name__)

UI_PATH = "/ui"
EXAMPLES = [
    "十三届八次全会有哪些人出席？",
    "胡衡華如何評價總書記在長沙的考察？",
    "Who attended the plenary session of the Changsha committee?",
]
HISTORY_TURNS = 4  # earlier question/answer pairs sent along for follow-ups
LIST_LIMIT = 50
OUTLET_SCAN = 500  # articles scanned for the outlet filter's choices
JOB_POLL_S = 0.25

SYSTEM_FONTS = [
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "PingFang SC",
    "Microsoft YaHei",
    "Source Han Sans SC",
    "system-ui",
    "sans-serif",
]
MONO_FONTS = ["Noto Sans Mono CJK SC", "DejaVu Sans Mono", "Menlo", "Consolas", "monospace"]

CSS = """
#zw-header h1 { margin: 0; font-size: 1.5rem; }
#zw-header .zw-sub { color: var(--body-text-color-subdued); font-size: .9rem; }
.zw-q { white-space: pre-wrap; }
.zw-answer .zw-text { font-size: 1.02rem; line-height: 1.7; }
.zw-answer .zw-short { font-size: 1.15rem; margin-bottom: 0.35rem; }
.zw-rewritten, .zw-note, .zw-meta { color: var(--body-text-color-subdued); font-size: .85rem; }
.zw-rewritten { margin-bottom: .4rem; }
a.zw-ref { text-decoration: none; font-weight: 600; color: var(--color-accent); padding: 0 1px; }
.zw-sources { margin-top: .8rem; display: flex; flex-direction: column; gap: .5rem; }
.zw-sources-head { font-weight: 600; font-size: .9rem; }
.zw-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: .5rem .7rem;
  background: var(--background-fill-secondary); scroll-margin-top: 1rem; }
.zw-card:target { outline: 2px solid var(--color-accent); }
.zw-card-head { display: flex; gap: .5rem; align-items: baseline; font-weight: 600; }
.zw-n { display: inline-block; min-width: 1.4em; text-align: center; border-radius: 4px;
  background: var(--color-accent); color: white; font-size: .8rem; padding: 0 .3em; }
blockquote.zw-passage { margin: .35rem 0 .2rem; padding: .2rem .6rem; border-left: 3px solid
  var(--border-color-accent); font-size: .92rem; line-height: 1.6; white-space: pre-wrap; }
mark.zw-hl { background: #ffe58a; color: #222; padding: 0 1px; border-radius: 2px; }
details.zw-article summary, details.zw-article-row summary { cursor: pointer; font-size: .88rem;
  color: var(--color-accent); }
details.zw-article-row summary { color: inherit; padding: .3rem 0; }
.zw-fulltext { white-space: pre-wrap; max-height: 22rem; overflow-y: auto; font-size: .92rem;
  line-height: 1.65; padding: .4rem .6rem; margin-top: .3rem; border-radius: 6px;
  background: var(--background-fill-primary); border: 1px solid var(--border-color-primary); }
.zw-notice.zw-pending, .zw-notice.zw-loading { color: var(--body-text-color-subdued); font-style: italic; }
.zw-notice.zw-error, .zw-bad { color: var(--error-text-color, #b91c1c); }
.zw-ok { color: #15803d; }
.zw-stats { display: flex; gap: 1.5rem; align-items: baseline; font-size: 1rem; }
.zw-stats b { font-size: 1.4rem; }
.zw-list-head { font-size: .9rem; margin-bottom: .3rem; }
details.zw-article-row { border-bottom: 1px solid var(--border-color-primary); }
.zw-job progress { width: 100%; }
#zw-examples button { font-size: .85rem; }
"""


# ---------------------------------------------------------------- helpers (no Gradio types)


def _settings(app: FastAPI) -> Settings:
    settings: Settings = app.state.settings
    return settings


def _index(app: FastAPI) -> Index | None:
    index: Index | None = getattr(app.state, "index", None)
    return index


def check_key(settings: Settings, given: str | None) -> str | None:
    """None when `given` is the server's API key (the API's one check), else what to do, in the
    page's language."""
    try:
        service_check_key(settings, given)
    except ApiError as exc:
        if exc.code == "writes_disabled":
            return (
                "写入已关闭：服务器没有配置 API key。要在此上传或删除文章，请在启动服务时设置环境变量 "
                "ZHIWEN_API_KEY=<密钥>，然后在这里输入同一个密钥。"
            )
        if not given:
            return "请先在上方输入 API key（服务器的 ZHIWEN_API_KEY）。"
        return "API key 不正确；请输入服务器的 ZHIWEN_API_KEY。"
    return None


def upload_dir() -> Path:
    """Gradio's upload folder: the only place the web chat takes files from."""
    from gradio.utils import get_upload_folder

    return Path(os.path.realpath(get_upload_folder()))


def received_file(path: str) -> Path | None:
    """`path` when it is a regular file that Gradio's upload route stored (inside its upload
    folder, links resolved, and recorded by `server.guard` as that route answered), else None:
    a request naming any other server path is refused, even after Gradio copied it into its
    cache while preprocessing the request."""
    try:
        real = Path(os.path.realpath(path))
        st = os.lstat(real)
    except (OSError, ValueError):
        return None
    root = upload_dir()
    if real == root or root not in real.parents or not stat.S_ISREG(st.st_mode):
        return None
    return real if was_received(real) else None


def parse_date(value: str | None, label: str) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise InputError(f"{label}“{value}”不是有效日期；请写成 YYYY-MM-DD，例如 2019-09-25。") from None


def make_filters(since: str | None, until: str | None, outlets: Sequence[str] | None) -> Filters | None:
    s, u = parse_date(since, "起始日期"), parse_date(until, "截止日期")
    if s and u and s > u:
        raise InputError(f"起始日期 {s} 晚于截止日期 {u}；请调换两个日期。")
    f = Filters(since=s, until=u, sources=tuple(o for o in (outlets or ()) if o))
    return None if f.is_empty() else f


def history_for(turns: Sequence[TurnRecord]) -> list[Turn]:
    out: list[Turn] = []
    answered = [t for t in turns if t.answer is not None]
    for t in answered[-HISTORY_TURNS:]:
        assert t.answer is not None
        out.append(Turn("user", t.question))
        out.append(Turn("assistant", t.answer.answer, tuple(t.answer.citations)))
    return out


def cited_articles(index: Index, turn: TurnRecord) -> dict[str, Article]:
    out: dict[str, Article] = {}
    if turn.answer is None:
        return out
    for c in turn.answer.citations:
        if c.article_id in out:
            continue
        try:
            out[c.article_id] = index.get_article(c.article_id)
        except NotFoundError:  # deleted meanwhile: the card shows the quote alone
            continue
    return out


def outlets(index: Index | None) -> list[str]:
    if index is None:
        return []
    articles, _ = index.list_articles(limit=OUTLET_SCAN)
    return sorted({a.source for a in articles if a.source})


# ---------------------------------------------------------------- handlers


Messages = list[dict[str, str]]


class Handlers:
    """What the page's events call; plain Python over `app.state`, testable without a browser."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    @property
    def settings(self) -> Settings:
        return _settings(self.app)

    @property
    def index(self) -> Index | None:
        return _index(self.app)

    @property
    def service(self) -> Service:
        service: Service = self.app.state.service
        return service

    def respond(
        self,
        question: str,
        turns: list[TurnRecord] | None,
        script: str,
        top_k: float,
        since: str,
        until: str,
        outlet_choice: list[str] | None,
    ) -> Iterator[tuple[Messages, list[TurnRecord], str]]:
        """Ask; yields the pending turn at once, then the finished answer (chat messages, turns,
        question box). The answer is built whole (it is extractive), so it is shown whole."""
        settings = self.settings
        turns = list(turns or [])
        question = (question or "").strip()
        if not question:
            yield chat_messages(turns, script), turns, ""
            return
        turn = TurnRecord(question=question)
        history = history_for(turns)
        turns.append(turn)
        if len(question) > settings.max_question_chars:
            turn.notice = f"问题太长（{len(question)} 字）；请缩短到 {settings.max_question_chars} 字以内。"
            yield chat_messages(turns, script), turns, question
            return
        index = self.index
        if index is None:
            turn.notice, turn.notice_kind = "知识库正在加载，请过几秒再问一次。", "loading"
            yield chat_messages(turns, script), turns, question
            return
        yield chat_messages(turns, script), turns, ""
        try:
            filters = make_filters(since, until, outlet_choice)
            k = max(1, min(int(top_k or 5), settings.max_top_k))
            turn.answer = self.service.ask(index, question, top_k=k, filters=filters, history=history)
            turn.articles = cited_articles(index, turn)
        except (ZhiwenError, ApiError) as exc:
            turn.answer, turn.notice = None, exc.message
            yield chat_messages(turns, script), turns, ""
            return
        except Exception:
            logger.exception("web chat: answering %r failed", question)
            turn.answer, turn.notice = None, "内部错误，问题没有得到回答；详情见服务器日志。"
            yield chat_messages(turns, script), turns, ""
            return
        yield chat_messages(turns, script), turns, ""

    def rerender(self, turns: list[TurnRecord] | None, script: str) -> Messages:
        return chat_messages(list(turns or []), script)

    def refresh_kb(self, q: str | None = None) -> tuple[str, str]:
        """(counts, article list) for the knowledge-base tab."""
        index = self.index
        if index is None:
            return stats_html(None), notice_html("知识库正在加载…", "loading")
        q = (q or "").strip() or None
        articles, total = index.list_articles(limit=LIST_LIMIT, q=q)
        return stats_html(index.stats()), article_list_html(articles, total, q)

    def write_note(self) -> str:
        settings = self.settings
        return "" if writes_enabled(settings) else notice_html(check_key(settings, None) or "")

    def upload(self, files: Sequence[str] | None, key: str) -> Iterator[str]:
        """Index uploaded files as a job (app.state.jobs); yields progress, then the result."""
        settings = self.settings
        problem = check_key(settings, key)
        if problem:
            yield notice_html(problem)
            return
        index = self.index
        if index is None:
            yield notice_html("知识库正在加载，请稍后再上传。", "loading")
            return
        paths = [str(f) for f in files or []]
        if not paths:
            yield notice_html(f"请先选择要上传的文件（{SUPPORTED_TYPES}）。")
            return
        received: list[tuple[str, bytes]] = []
        limit = int(settings.max_upload_mb * (1 << 20))
        for p in paths:
            real = received_file(p)
            if real is None:
                logger.warning("web upload refused a path it did not receive: %r", p)
                yield notice_html("只能导入通过本页上传的文件；请用上方的上传框重新选择文件。")
                return
            if real.stat().st_size > limit:
                yield notice_html(
                    f"文件 {Path(p).name} 超过 {settings.max_upload_mb:g} MB 的上限；请拆分后再上传。"
                )
                return
            received.append((Path(p).name, real.read_bytes()))
        upload = Upload(size=sum(len(d) for _, d in received), files=received)
        # every job slot taken: queue (this is Gradio's worker thread, not a request worker)
        # for as long as an API upload would wait, then say so
        deadline = time.monotonic() + SLOT_WAIT_S
        while True:
            try:
                job = self.service.submit(index, upload, origin="web upload")
                break
            except ApiError as exc:
                if exc.code != "busy" or time.monotonic() >= deadline:
                    yield notice_html(f"现在无法导入：{exc.message}")
                    return
                yield notice_html("其他导入任务正在进行，已排队等待…", "loading")
                time.sleep(JOB_POLL_S)
        jobs: JobRegistry = self.app.state.jobs
        while True:
            state = jobs.get(job.id)
            if state is None:
                yield notice_html("导入任务已结束，但状态已被清理；请刷新文章列表查看结果。")
                return
            yield job_html(state)
            if state["status"] in ("succeeded", "failed"):
                return
            time.sleep(JOB_POLL_S)

    def delete(self, article_id: str, key: str) -> str:
        problem = check_key(self.settings, key)
        if problem:
            return notice_html(problem)
        index = self.index
        if index is None:
            return notice_html("知识库正在加载，请稍后再试。", "loading")
        article_id = (article_id or "").strip()
        if not article_id:
            return notice_html("请输入要删除的文章 ID（在文章列表中展开文章可以看到）。")
        try:
            self.service.delete(index, article_id)
        except (ZhiwenError, ApiError) as exc:
            return notice_html(exc.message)
        except (OSError, sqlite3.Error) as exc:  # a full disk or a read-only index: say so
            mapped = storage_error(exc)
            if mapped is None:
                raise
            return notice_html(mapped.message)
        return f'<div class="zw-ok">已删除文章 <code>{esc(article_id)}</code>。</div>'


# ---------------------------------------------------------------- the page


def build_blocks(app: FastAPI) -> gr.Blocks:
    settings = _settings(app)
    h = Handlers(app)
    max_k = settings.max_top_k

    def on_load() -> tuple[str, str, Any, str]:
        stats, listing = h.refresh_kb()
        return stats, listing, gr.update(choices=outlets(h.index)), h.write_note()

    # uploads are copied into Gradio's cache; drop them after an hour (they are indexed by then)
    with gr.Blocks(title="知闻 zhiwen", analytics_enabled=False, delete_cache=(3600, 3600)) as demo:
        turns = gr.State([])
        gr.HTML(
            '<div id="zw-header"><h1>知闻 zhiwen</h1><div class="zw-sub">中文新闻问答：答案逐字摘自已收录的文章，'
            '每句都附编号来源。 · <a href="/docs">API 文档</a></div></div>'
        )
        with gr.Tabs():
            with gr.Tab("问答", id="chat", elem_id="zw-tab-chat"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=4):
                        chatbot = gr.Chatbot(
                            elem_id="zw-chat",
                            height=640,
                            render_markdown=False,
                            sanitize_html=True,
                            feedback_options=None,
                            group_consecutive_messages=False,
                            buttons=[],
                            show_label=False,
                            placeholder="用简体、繁體或 English 提问；答案下方是编号来源，点开可看全文。",
                        )
                        with gr.Row():
                            question = gr.Textbox(
                                show_label=False,
                                placeholder="输入问题，按 Enter 发送",
                                lines=1,
                                max_lines=1,
                                scale=8,
                                elem_id="zw-question",
                                autofocus=True,
                            )
                            send = gr.Button("发送", variant="primary", scale=1, elem_id="zw-send")
                        with gr.Row(elem_id="zw-examples"):
                            example_buttons = [gr.Button(q, size="sm", variant="secondary") for q in EXAMPLES]
                    with gr.Column(scale=1, min_width=240):
                        script = gr.Radio(
                            choices=SCRIPT_CHOICES,
                            value="auto",
                            label="答案文字 简/繁",
                            info="只改变答案文字；引文保持原文。",
                            elem_id="zw-script",
                        )
                        top_k = gr.Slider(1, max_k, value=5, step=1, label="检索来源数", elem_id="zw-topk")
                        since = gr.Textbox(label="起始日期", placeholder="YYYY-MM-DD", elem_id="zw-since")
                        until = gr.Textbox(label="截止日期", placeholder="YYYY-MM-DD", elem_id="zw-until")
                        outlet_box = gr.Dropdown(
                            choices=[],
                            multiselect=True,
                            allow_custom_value=True,
                            label="媒体来源",
                            info="不选 = 全部",
                            elem_id="zw-outlets",
                        )
                        clear = gr.Button("新对话", elem_id="zw-clear")
            with gr.Tab("知识库", id="kb", elem_id="zw-tab-kb") as kb_tab:
                stats = gr.HTML(elem_id="zw-stats")
                with gr.Row():
                    search_q = gr.Textbox(
                        show_label=False, placeholder="按标题或 ID 搜索文章", scale=6, elem_id="zw-search"
                    )
                    search_btn = gr.Button("搜索", scale=1, elem_id="zw-search-btn")
                listing = gr.HTML(elem_id="zw-list")
                with gr.Accordion("上传与删除（需要 API key）", open=True):
                    write_note = gr.HTML()
                    key = gr.Textbox(
                        label="API key",
                        type="password",
                        placeholder="服务器的 ZHIWEN_API_KEY；只保留在本页，不会存入浏览器",
                        elem_id="zw-key",
                    )
                    files = gr.File(
                        label=f"上传文章：{SUPPORTED_TYPES}（可多选）",
                        file_count="multiple",
                        type="filepath",
                        elem_id="zw-files",
                    )
                    upload_btn = gr.Button("导入", variant="primary", elem_id="zw-upload")
                    upload_status = gr.HTML(elem_id="zw-upload-status")
                    with gr.Row():
                        del_id = gr.Textbox(label="要删除的文章 ID", scale=6, elem_id="zw-del-id")
                        del_btn = gr.Button("删除", variant="stop", scale=1, elem_id="zw-del")
                    del_status = gr.HTML(elem_id="zw-del-status")

        ask_inputs = [question, turns, script, top_k, since, until, outlet_box]
        ask_outputs = [chatbot, turns, question]
        private: dict[str, Any] = {"api_visibility": "private"}
        question.submit(h.respond, ask_inputs, ask_outputs, concurrency_limit=4, **private)
        send.click(h.respond, ask_inputs, ask_outputs, concurrency_limit=4, **private)
        for b, q in zip(example_buttons, EXAMPLES, strict=True):
            b.click(lambda q=q: q, None, question, queue=False, **private).then(
                h.respond, ask_inputs, ask_outputs, concurrency_limit=4, **private
            )
        script.change(h.rerender, [turns, script], chatbot, queue=False, **private)
        clear.click(lambda: ([], [], ""), None, [chatbot, turns, question], queue=False, **private)
        chatbot.clear(lambda: [], None, turns, queue=False, **private)

        search_q.submit(h.refresh_kb, search_q, [stats, listing], **private)
        search_btn.click(h.refresh_kb, search_q, [stats, listing], **private)
        kb_tab.select(h.refresh_kb, search_q, [stats, listing], **private)
        # the upload route needs the key too (server.guard): the page sends it as a session cookie
        # scoped to that route, set as it is typed
        key.change(None, key, None, js=KEY_COOKIE_JS, queue=False, **private)
        upload_btn.click(h.upload, [files, key], upload_status, **private).then(
            h.refresh_kb, search_q, [stats, listing], **private
        )
        del_btn.click(h.delete, [del_id, key], del_status, **private).then(
            h.refresh_kb, search_q, [stats, listing], **private
        )
        demo.load(on_load, None, [stats, listing, outlet_box, write_note], **private)
    return demo


KEY_COOKIE_JS = (
    "(k) => { document.cookie = '"
    + KEY_COOKIE
    + "=' + encodeURIComponent(k || '') + '; path=' + window.location.pathname.replace(/\\/$/, '')"
    + " + '/gradio_api/upload; SameSite=Strict'; return []; }"
)


def theme() -> gr.themes.Base:
    return gr.themes.Default(primary_hue="blue", font=SYSTEM_FONTS, font_mono=MONO_FONTS)


def mount_ui(app: FastAPI) -> None:
    """Mount the web chat at `/ui` of `app` (which must carry `state.settings` and `state.jobs`)."""
    settings = _settings(app)
    demo = build_blocks(app)
    gr.mount_gradio_app(
        app,
        demo,
        path=UI_PATH,
        footer_links=[],
        run_history=False,
        show_error=True,
        max_file_size=int(settings.max_upload_mb * (1 << 20)),
        ssr_mode=False,
        mcp_server=False,
        enable_monitoring=False,
        pwa=False,
        theme=theme(),
        css=CSS,
    )
