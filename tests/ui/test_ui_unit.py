"""The chat's HTML rendering, without a browser: escaping, citation links, the 简/繁 switch."""

from __future__ import annotations

import re

from rag.records import Answer, Article, Citation, Hit
from ui.render import (
    TurnRecord,
    answer_html,
    article_html,
    article_list_html,
    card_id,
    chat_messages,
    full_text_html,
    job_html,
    link_markers,
    passage_html,
    stats_html,
)

SCRIPT = "<script>alert(1)</script>"
MD_IMAGE = "![x](http://evil/x.png)"
IMG = '<img src=x onerror="alert(2)">'
EVIL = f"{SCRIPT} {MD_IMAGE} {IMG}"

SIMPL_TEXT = "长沙晚报讯 今天，市领导朱健、程水泉等出席。会议听取了工作报告。"
SIMPL_QUOTE = "市领导朱健、程水泉等出席。"


def make_citation(text: str, quote: str, n: int = 1, article_id: str = "a1", **kw: object) -> Citation:
    start = text.index(quote)
    fields: dict[str, object] = {
        "n": n,
        "article_id": article_id,
        "chunk_id": f"{article_id}#c0",
        "title": "标题",
        "source": "长沙晚报",
        "published": "2019-09-25T12:55:03",
        "quote": quote,
        "start": start,
        "end": start + len(quote),
        "score": 0.9,
    }
    fields.update(kw)
    return Citation(**fields)  # type: ignore[arg-type]


def make_answer(text: str, citations: list[Citation], **kw: object) -> Answer:
    return Answer(
        question="谁出席了？",
        answered=True,
        answer=text,
        script="zh-Hans",
        citations=citations,
        **kw,  # type: ignore[arg-type]
    )


def assert_inert(html_out: str) -> None:
    """No live tag or attribute from the evil strings survives; the text is there, escaped."""
    assert "<script" not in html_out.lower()
    assert "<img" not in html_out.lower()
    assert "onerror=" not in html_out.replace("onerror=&quot;", "")  # only as escaped text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html_out
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in html_out
    assert MD_IMAGE in html_out  # shown literally; markdown is never rendered


def test_article_text_title_source_and_quote_are_escaped() -> None:
    text = f"导语。{EVIL} 结尾。"
    quote = EVIL
    c = make_citation(text, quote, title=f"题{SCRIPT}", source=f"社{IMG}")
    article = Article(id="a1", title=c.title, text=text, source=c.source)
    out = answer_html(make_answer(f"{EVIL}[1]", [c]), 1, {"a1": article})
    assert_inert(out)
    assert out.count("<mark") == 2  # on the card's passage and in the full text
    assert "&lt;script&gt;" in out.split('class="zw-fulltext"')[1]


def test_question_and_notices_are_escaped() -> None:
    turns = [TurnRecord(question=EVIL), TurnRecord(question="q2", notice=EVIL)]
    messages = chat_messages(turns)
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    assert_inert(messages[0]["content"])
    assert_inert(messages[3]["content"])


def test_knowledge_base_list_escapes_and_links_only_http_urls() -> None:
    a = Article(id=f"id{SCRIPT}", title=IMG, text=f"正文 {EVIL}", source=MD_IMAGE, url="javascript:alert(3)")
    out = article_list_html([a], 1, q=SCRIPT)
    assert_inert(out)
    assert "javascript:" not in out
    b = Article(id="b", title="t", text="x", url='https://example.org/"onmouseover=alert(4)')
    row = article_html(b)
    assert 'href="https://example.org/&quot;onmouseover=alert(4)"' in row


def test_upload_report_escapes_file_names_and_reasons() -> None:
    job = {
        "status": "succeeded",
        "result": {"added": 1, "updated": 0, "unchanged": 0, "chunks": 2},
        "errors": [{"path": IMG, "line": 3, "reason": SCRIPT}],
    }
    out = job_html(job)
    assert "<img" not in out and "<script" not in out
    assert "&lt;img" in out and "&lt;script&gt;" in out and "第 3 行" in out


def test_markers_link_to_their_cards() -> None:
    q1, q2 = "市领导朱健、程水泉等出席。", "会议听取了工作报告。"
    cites = [make_citation(SIMPL_TEXT, q1, 1), make_citation(SIMPL_TEXT, q2, 2)]
    article = Article(id="a1", title="标题", text=SIMPL_TEXT)
    out = answer_html(make_answer(f"{q1}[1]{q2}[2]另见[9]", cites), 7, {"a1": article})
    for n in (1, 2):
        assert f'href="#{card_id(7, n)}"' in out
        assert f'id="{card_id(7, n)}"' in out
    assert out.index('href="#zw-t7-c1"') < out.index('id="zw-t7-c1"')
    assert "另见[9]" in out  # no card 9: left as text, not a dead link
    assert 'href="#zw-t7-c9"' not in out


def test_link_markers_only_touches_known_numbers() -> None:
    assert link_markers("a[1]b[2]", 1, [2]) == 'a[1]b<a class="zw-ref" href="#zw-t1-c2" data-n="2">[2]</a>'


def test_script_switch_changes_answer_text_only() -> None:
    c = make_citation(SIMPL_TEXT, SIMPL_QUOTE)
    article = Article(id="a1", title="长沙会议", text=SIMPL_TEXT)
    answer = make_answer(f"{SIMPL_QUOTE}[1]", [c])

    def parts(mode: str) -> tuple[str, str]:
        out = answer_html(answer, 1, {"a1": article}, mode)
        text = re.search(r'<div class="zw-text">(.*?)</div>', out)
        assert text is not None
        return text.group(1), out[text.end() :]

    auto_text, auto_cards = parts("auto")
    hant_text, hant_cards = parts("hant")
    hans_text, hans_cards = parts("hans")
    assert "市领导" in auto_text and "市領導" in hant_text and "市领导" in hans_text
    assert auto_cards == hant_cards == hans_cards  # quotes stay as published
    assert SIMPL_QUOTE in hant_cards


def test_script_switch_simplifies_a_traditional_answer_but_not_its_quote() -> None:
    text = "長沙市委書記胡衡華回想起考察調研的情景。"
    c = make_citation(text, text)
    article = Article(id="a1", title="訪談", text=text)
    out = answer_html(make_answer(f"{text}[1]", [c]), 1, {"a1": article}, "hans")
    assert "长沙市委书记胡衡华" in out.split('class="zw-sources"')[0]
    assert f'<mark class="zw-hl">{text}</mark>' in out


def test_passage_highlights_the_quote_with_context_within_its_paragraph() -> None:
    text = "第一段不该出现。\n第二段开头，" + SIMPL_QUOTE + "第二段结尾。\n第三段也不该出现。"
    c = make_citation(text, SIMPL_QUOTE)
    out = passage_html(text, c)
    assert out == f'第二段开头，<mark class="zw-hl">{SIMPL_QUOTE}</mark>第二段结尾。'
    full = full_text_html(text, c.start, c.end)
    assert full.startswith("第一段不该出现。<br>") and "第三段也不该出现。" in full
    assert f'<mark class="zw-hl">{SIMPL_QUOTE}</mark>' in full


def test_card_without_its_article_shows_the_quote_and_no_full_text() -> None:
    c = make_citation(SIMPL_TEXT, SIMPL_QUOTE)
    out = answer_html(make_answer(f"{SIMPL_QUOTE}[1]", [c]), 1, {})
    assert f'<mark class="zw-hl">{SIMPL_QUOTE}</mark>' in out
    assert "zw-article" not in out


def test_long_article_is_windowed_around_the_quote() -> None:
    text = "甲" * 50_000 + SIMPL_QUOTE + "乙" * 50_000
    start = text.index(SIMPL_QUOTE)
    out = full_text_html(text, start, start + len(SIMPL_QUOTE), max_chars=1000)
    assert f'<mark class="zw-hl">{SIMPL_QUOTE}</mark>' in out
    assert len(out) < 1500 and "全文 100013 字" in out


def test_not_found_shows_the_message_and_the_nearest_passages() -> None:
    hit = Hit(
        chunk_id="a#c0",
        article_id="a",
        title="最近的文章",
        text="最近的段落" * 100,
        start=0,
        end=500,
        score=0.3,
    )
    answer = Answer(
        question="火星上有水吗？",
        answered=False,
        answer="在已收录的文章中没有找到这个问题的答案。",
        script="zh-Hans",
        suggestions=[hit],
        message="在已收录的文章中没有找到这个问题的答案。",
    )
    out = answer_html(answer, 1, {})
    assert "zw-notfound" in out and "没有找到" in out
    assert "最接近的段落" in out and "最近的文章" in out and "zw-suggestion" in out
    answer.suggestions = []
    empty = answer_html(answer, 1, {})
    assert "没有找到" in empty and "zw-note" in empty  # never an empty bubble


def test_rewritten_question_is_shown() -> None:
    c = make_citation(SIMPL_TEXT, SIMPL_QUOTE)
    out = answer_html(make_answer(f"{SIMPL_QUOTE}[1]", [c], rewritten_question=f"谁{SCRIPT}出席？"), 1, {})
    assert "已按上文理解为：谁&lt;script&gt;" in out


def test_pending_turn_is_never_an_empty_bubble() -> None:
    messages = chat_messages([TurnRecord(question="你好")])
    assert "正在查找" in messages[1]["content"]


def test_stats_while_loading_and_loaded() -> None:
    assert "正在加载" in stats_html(None)
    out = stats_html({"articles": 3, "chunks": 7, "embedder": "<b>e</b>"})
    assert ">3</b> 篇文章" in out and ">7</b> 个段落" in out and "&lt;b&gt;e" in out


def test_the_short_answer_is_shown_in_bold_above_the_evidence() -> None:
    from rag import ShortAnswer

    text = "应到市委委员57人，实到54人。"
    c = make_citation(text, text)
    article = Article(id="a1", title=c.title, text=text)
    short = ShortAnswer(text="57人", n=1, start=7, end=10)
    out = answer_html(make_answer(f"{text}[1]", [c], short_answer=short), 1, {"a1": article})
    assert '<div class="zw-short"><strong>57人' in out
    assert out.index("zw-short") < out.index("zw-text")
    plain = answer_html(make_answer(f"{text}[1]", [c]), 1, {"a1": article})
    assert "zw-short" not in plain
