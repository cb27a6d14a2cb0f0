from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from rag.chunk import chunk_article, chunk_text, context_header, split_sentences
from rag.records import Article

ALPHABET = "长沙市委全会出席记者凌晴胡衡华。！？；…!?\n」』”’）（「“《》，、 ab12"


def test_sentences_end_at_marks_and_keep_closing_quotes():
    text = "他说：「我们要发展。」随后离开！真的吗？是的……好"
    parts = [text[a:b] for a, b in split_sentences(text)]
    assert parts == ["他说：「我们要发展。」", "随后离开！", "真的吗？", "是的……", "好"]


def test_line_break_inside_open_bracket_joins_lines():
    text = "长沙晚报9月24日讯（全媒体记者\n凌晴）今天，会议召开。\n下一段"
    parts = [text[a:b] for a, b in split_sentences(text)]
    assert parts[0] == "长沙晚报9月24日讯（全媒体记者\n凌晴）今天，会议召开。"
    assert parts[1] == "下一段"


def test_line_breaks_end_sentences():
    text = "标题一行\n正文第一句。正文第二句"
    assert [text[a:b] for a, b in split_sentences(text)] == ["标题一行", "正文第一句。", "正文第二句"]


def test_chunks_pack_to_target_with_overlap(seed_articles):
    art = seed_articles[0]
    chunks = chunk_article(art, target=200, overlap=60)
    assert len(chunks) > 3
    for c in chunks:
        assert c.text == art.text[c.start : c.end]
    # consecutive chunks overlap or touch, and the whole text is covered
    for a, b in itertools.pairwise(chunks):
        assert b.start <= a.end + 2
        assert b.start > a.start
    assert chunks[0].start <= 1 and chunks[-1].end >= len(art.text.rstrip()) - 1


def test_overlong_sentence_is_cut_at_commas():
    text = "，".join(["这是一个很长的分句"] * 40) + "。"
    spans = chunk_text(text, target=100, overlap=0)
    assert all(b - a <= 100 for a, b in spans)
    assert "".join(text[a:b] for a, b in spans).replace("，", "") == text.replace("，", "")


def test_context_header_is_not_inside_chunks():
    art = Article(id="x", title="标题在此", text="正文。" * 5, published="2020-01-02", source="某报")
    assert context_header(art) == "标题在此\n2020-01-02 某报"
    assert all("标题在此" not in c.text for c in chunk_article(art))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=800), st.integers(20, 400), st.integers(0, 200))
def test_offsets_round_trip_for_random_chinese_text(text, target, overlap):
    art = Article(id="a", title="t", text=text)
    chunks = chunk_article(art, target=target, overlap=overlap)
    for c in chunks:
        assert 0 <= c.start < c.end <= len(text)
        assert text[c.start : c.end] == c.text
        assert c.text == c.text.strip()
    for a, b in split_sentences(text):
        assert text[a:b].strip() == text[a:b] and b > a
    if text.strip():
        assert chunks
