"""What the web chat's events do, as plain Python over `app.state` (no Gradio types), so they
are testable without a browser: every write and question goes through the API's service
layer (`server.service`: the same key check, limits, write gate and upload jobs as the HTTP
routes). The index and the service are read from `app.state` at request time
(`app.state.index` is None while the lifespan opens it). Uploads are taken only from Gradio's
upload folder, whose route needs the key (see `server.guard`), so a payload naming any other
server path is refused.
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

from fastapi import FastAPI

from rag import Filters, Index, Turn
from rag.errors import InputError, NotFoundError, ZhiwenError
from rag.ingest import SUPPORTED_TYPES
from rag.records import Article
from rag.settings import Settings
from server.errors import ApiError, storage_error
from server.guard import was_received
from server.jobs import JobRegistry
from server.service import SLOT_WAIT_S, Service, Upload
from server.service import check_key as service_check_key
from server.service import writes_enabled as writes_enabled
from ui.render import (
    TurnRecord,
    article_list_html,
    chat_messages,
    esc,
    job_html,
    notice_html,
    stats_html,
)

logger = logging.getLogger(__name__)

HISTORY_TURNS = 4  # earlier question/answer pairs sent along for follow-ups
LIST_LIMIT = 50
OUTLET_SCAN = 500  # articles scanned for the outlet filter's choices
JOB_POLL_S = 0.25


def settings_of(app: FastAPI) -> Settings:
    settings: Settings = app.state.settings
    return settings


def index_of(app: FastAPI) -> Index | None:
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
        return settings_of(self.app)

    @property
    def index(self) -> Index | None:
        return index_of(self.app)

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
