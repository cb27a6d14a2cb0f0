"""The chat's event handlers (`ui.handlers`), over a fake-embedder index of the seeds (no browser)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from rag import Index
from rag.errors import InputError
from rag.normalize import to_traditional
from server import create_app
from tests.ui.ui_helpers import KEY, settings

pytest.importorskip("gradio", reason="the web chat needs the `ui` extra: pip install -e '.[ui]'")

from server.guard import mark_received
from server.service import busy
from ui import handlers as ui_handlers
from ui.render import TurnRecord

QUESTION = "十三届八次全会有哪些人出席？"


@pytest.fixture
def app(tmp_path: Path, fake_index: Index) -> FastAPI:
    """The app state the handlers read (the Blocks themselves are not needed here)."""
    return create_app(settings(tmp_path, ui=False), index=fake_index)


@pytest.fixture
def handlers(app: FastAPI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> ui_handlers.Handlers:
    monkeypatch.setattr(ui_handlers, "JOB_POLL_S", 0.01)
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio-uploads"))
    return ui_handlers.Handlers(app)


def run(
    handlers: ui_handlers.Handlers, question: str, turns: list[TurnRecord] | None = None, **kw: Any
) -> list[tuple[list[dict[str, str]], list[TurnRecord], str]]:
    args: dict[str, Any] = {"script": "auto", "top_k": 5, "since": "", "until": "", "outlet_choice": []}
    args.update(kw)
    return list(
        handlers.respond(
            question,
            turns or [],
            args["script"],
            args["top_k"],
            args["since"],
            args["until"],
            args["outlet_choice"],
        )
    )


def test_answer_shows_pending_then_numbered_cards(handlers: ui_handlers.Handlers) -> None:
    steps = run(handlers, QUESTION)
    first, last = steps[0][0], steps[-1][0]
    assert "正在查找" in first[-1]["content"]  # a pending bubble, never an empty one
    final = last[-1]["content"]
    assert "朱健" in final and "程水泉" in final
    assert 'class="zw-card"' in final and '<mark class="zw-hl">' in final
    assert 'href="#zw-t1-c1"' in final and 'id="zw-t1-c1"' in final
    assert len(steps) == 2, "a pending bubble, then the finished answer (no fake streaming)"
    assert steps[-1][2] == ""  # the question box is cleared


def test_follow_up_sends_the_history(handlers: ui_handlers.Handlers, monkeypatch: pytest.MonkeyPatch) -> None:
    turns = run(handlers, QUESTION)[-1][1]
    seen: list[Any] = []
    from server import service as service_module

    real_ask = service_module.ask

    def spy(index: Index, question: str, **kw: Any) -> Any:
        seen.append(kw["history"])
        return real_ask(index, question, **kw)

    monkeypatch.setattr(service_module, "ask", spy)
    messages, turns2, _ = run(handlers, "他们在哪里开会？", turns)[-1]
    assert len(turns2) == 2 and len(messages) == 4
    (history,) = seen
    assert [t.role for t in history] == ["user", "assistant"]
    assert history[0].content == QUESTION and history[1].citations
    assert 'id="zw-t2-c1"' in messages[-1]["content"] or "zw-notfound" in messages[-1]["content"]


def test_script_switch_rerenders_answer_text(handlers: ui_handlers.Handlers) -> None:
    turns = run(handlers, QUESTION)[-1][1]
    hant_text, hant_cards = handlers.rerender(turns, "hant")[-1]["content"].split('class="zw-sources"')
    auto_text, auto_cards = handlers.rerender(turns, "auto")[-1]["content"].split('class="zw-sources"')
    assert hant_text != auto_text and hant_text == to_traditional(auto_text)
    assert hant_cards == auto_cards  # the quotes stay as published


def test_loading_index_bad_dates_and_long_questions_say_what_to_do(
    app: FastAPI, handlers: ui_handlers.Handlers
) -> None:
    bad = run(handlers, QUESTION, since="2019-13-01")[-1][0][-1]["content"]
    assert "YYYY-MM-DD" in bad and "zw-error" in bad
    too_long = run(handlers, "问" * (app.state.settings.max_question_chars + 1))[-1]
    assert "太长" in too_long[0][-1]["content"] and too_long[2]  # the question is kept to edit
    app.state.index = None
    loading = run(handlers, QUESTION)[-1]
    assert "正在加载" in loading[0][-1]["content"] and loading[2] == QUESTION
    assert "正在加载" in handlers.refresh_kb()[0]


def test_filters_restrict_the_answer(handlers: ui_handlers.Handlers) -> None:
    out = run(handlers, QUESTION, since="2020-01-01")[-1][0][-1]["content"]
    assert "朱健" not in out.split('class="zw-sources"')[0]  # the 2019 seed is filtered out


def test_make_filters() -> None:
    assert ui_handlers.make_filters("", " ", []) is None
    f = ui_handlers.make_filters("2019-01-01", "2019-12-31", ["华夏经纬网", ""])
    assert f is not None and f.since == "2019-01-01" and f.sources == ("华夏经纬网",)
    with pytest.raises(InputError, match="调换"):
        ui_handlers.make_filters("2020-01-01", "2019-01-01", None)
    with pytest.raises(InputError, match="YYYY-MM-DD"):
        ui_handlers.make_filters("yesterday", None, None)


def test_outlet_choices_come_from_the_index(fake_index: Index) -> None:
    choices = ui_handlers.outlets(fake_index)
    assert "华夏经纬网" in choices and choices == sorted(set(choices))
    assert ui_handlers.outlets(None) == []


def test_check_key(tmp_path: Path) -> None:
    s = settings(tmp_path)
    assert ui_handlers.check_key(s, KEY) is None
    assert "不正确" in (ui_handlers.check_key(s, KEY + "x") or "")
    assert "输入" in (ui_handlers.check_key(s, "") or "")
    off = settings(tmp_path, api_key=None)
    assert "ZHIWEN_API_KEY" in (ui_handlers.check_key(off, KEY) or "")


def received(tmp_path: Path) -> Path:
    """A folder inside Gradio's upload folder, as its upload route would create."""
    folder = ui_handlers.upload_dir() / "0123abcd"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_upload_reports_progress_and_per_file_errors(handlers: ui_handlers.Handlers, tmp_path: Path) -> None:
    tmp_path = received(tmp_path)
    good = tmp_path / "bridge.txt"
    good.write_text("大桥今日通车\n\n2021-05-06 长沙晚报\n\n---\n\n长沙晚报讯 大桥今天正式通车。\n", "utf-8")
    bad = tmp_path / "notes.pdf"
    bad.write_bytes(b"%PDF")
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"text": 1}\n', "utf-8")
    files = [str(good), str(bad), str(broken)]
    mark_received(files)  # as Gradio's upload route does (server.guard)
    assert "不正确" in list(handlers.upload(files, "wrong"))[-1]
    index = handlers.index
    assert index is not None
    before = int(str(index.stats()["articles"]))
    out = list(handlers.upload(files, KEY))
    assert "已导入：新增 1 篇" in out[-1]
    assert "notes.pdf" in out[-1] and "broken.jsonl" in out[-1] and "第 1 行" in out[-1]
    assert int(str(index.stats()["articles"])) == before + 1
    stats, listing = handlers.refresh_kb("大桥")
    assert "大桥今日通车" in listing and f">{before + 1}</b>" in stats
    only_bad = list(handlers.upload([str(bad)], KEY))[-1]
    assert "导入失败" in only_bad and "notes.pdf" in only_bad


def test_upload_queues_while_every_job_slot_is_taken(
    handlers: ui_handlers.Handlers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the job slots busy the web upload waits its turn (as the API does), not refuses."""
    tmp_path = received(tmp_path)
    good = tmp_path / "queued.txt"
    good.write_text("排队的文章\n\n2021-05-06 长沙晚报\n\n---\n\n长沙晚报讯 排队的文章今天导入。\n", "utf-8")
    mark_received([str(good)])
    real_submit = handlers.service.submit
    refusals = iter(range(3))

    def busy_at_first(*args: Any, **kw: Any) -> Any:
        if next(refusals, None) is not None:
            raise busy("1 upload job(s) are already running (ZHIWEN_MAX_UPLOAD_JOBS)")
        return real_submit(*args, **kw)

    monkeypatch.setattr(handlers.service, "submit", busy_at_first)
    out = list(handlers.upload([str(good)], KEY))
    assert any("排队" in o for o in out[:-1])
    assert "已导入：新增 1 篇" in out[-1]
    # a queue that never moves ends with the reason, after the wait
    monkeypatch.setattr(ui_handlers, "SLOT_WAIT_S", 0.05)
    refusals = iter(range(10**6))
    assert "现在无法导入" in list(handlers.upload([str(good)], KEY))[-1]


def test_delete_needs_the_key_and_reports_unknown_ids(handlers: ui_handlers.Handlers) -> None:
    index = handlers.index
    assert index is not None
    (article,), _ = index.list_articles(limit=1)
    assert "不正确" in handlers.delete(article.id, "nope")
    assert "no article" in handlers.delete("no-such-id", KEY)
    assert "已删除" in handlers.delete(article.id, KEY)
    with pytest.raises(Exception, match="no article"):
        index.get_article(article.id)


def test_writes_disabled_note_without_a_key(tmp_path: Path, fake_index: Index) -> None:
    app = create_app(settings(tmp_path, api_key=None, ui=False), index=fake_index)
    h = ui_handlers.Handlers(app)
    assert "ZHIWEN_API_KEY" in h.write_note()
    assert "ZHIWEN_API_KEY" in list(h.upload([], "anything"))[-1]


def test_upload_refuses_a_server_path_it_did_not_receive(
    handlers: ui_handlers.Handlers, tmp_path: Path
) -> None:
    """A Gradio FileData payload naming any server file (here a seed outside the upload folder, a
    link from the upload folder to it, and a path escaping it with ..) is not ingested."""
    secret = tmp_path / "secret.txt"
    secret.write_text("机密文件\n服务器上的机密内容。\n", "utf-8")
    inside = received(tmp_path)
    link = inside / "link.txt"
    link.symlink_to(secret)
    escape = str(inside / ".." / ".." / "secret.txt")
    copied = inside / "copied.txt"  # what Gradio's preprocessing copies into its cache
    copied.write_text(secret.read_text("utf-8"), "utf-8")
    index = handlers.index
    assert index is not None
    before = index.stats()["articles"]
    for path in (str(secret), str(link), escape, "/etc/passwd", str(copied)):
        out = list(handlers.upload([path], KEY))[-1]
        assert "只能导入通过本页上传的文件" in out, path
    assert index.stats()["articles"] == before
