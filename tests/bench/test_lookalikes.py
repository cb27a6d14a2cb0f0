"""Look-alike questions for the "not found" boundary (bench/lookalikes.py)."""

from __future__ import annotations

import random

from bench.lookalikes import maybe_answerable, swapped
from rag import Article, FakeEmbedder, Index
from rag.evaluate import QAItem


def test_a_question_is_swapped_to_a_subject_its_article_does_not_name(tmp_path) -> None:
    """The proper word its own article names is replaced by another question's proper word of
    the same kind (a person for a person) that the index holds but that article lacks; a
    question without such a word is left out."""
    index = Index.open(tmp_path / "ix", FakeEmbedder())
    try:
        index.add(
            [
                Article(id="a", title="会议", text="王晓岚在会上说要抓好落实。"),
                Article(id="b", title="会议", text="李建国在会上说要加快建设。"),
                Article(id="c", title="湖州新闻", text="湖州今年修路十二条。"),
                Article(id="d", title="会议", text="全会审议通过了决定。"),
            ]
        )
        items = [
            QAItem("1", "王晓岚在会上说了什么？", ["抓好落实"], source="a"),
            QAItem("2", "李建国在会上说了什么？", ["加快建设"], source="b"),
            QAItem("3", "湖州今年修了多少条路？", ["十二条"], source="c"),  # no other place to swap in
            QAItem("4", "全会审议通过了什么？", ["决定"], source="d"),  # no proper word
        ]
        out = swapped(items, index, random.Random(0), 10)
        assert [(it.id, q, was, put) for it, q, was, put in out] == [
            ("1", "李建国在会上说了什么？", "王晓岚", "李建国"),
            ("2", "王晓岚在会上说了什么？", "李建国", "王晓岚"),
        ]
        assert len(swapped(items, index, random.Random(0), 1)) == 1
    finally:
        index.close()


def test_a_swap_whose_answer_an_article_naming_it_holds_is_dropped() -> None:
    item = QAItem("1", "q", ["十二条"])
    row = {"sentences": [{"named_miss": 1.0, "text": "新建道路十二条。"}]}
    assert not maybe_answerable(item, row)  # only an article lacking the new subject holds it
    row["sentences"].append({"named_miss": 0.0, "text": "澜沧县新建道路十二条。"})
    assert maybe_answerable(item, row)
