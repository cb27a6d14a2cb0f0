"""rag.index.sentences: the words stored with every sentence and title, and `zhiwen upgrade`
for an index built before they were stored."""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path

import pytest

import rag.index.sentences as sentences_mod
from rag import FakeEmbedder, Index
from rag.answer import ask
from rag.index.sentences import FORMAT_KEY, fill_words
from rag.sentence_words import WORDS_FORMAT, analyse

QUESTIONS = (
    "十三届八次全会有哪些人出席？",
    "出席全会的市委委员应到多少人，实到多少人？",
    "胡衡華在這次全會上做了什麼？",
    "长沙今年GDP是多少？",
)


def _stored_as_built(index: Index) -> None:
    """Every sentence and title holds the words `analyse` gives its text."""
    snap = index.snapshot()
    arts, _ = index.list_articles(limit=1000)
    rowids = snap.rowids_of([a.id for a in arts])
    for a in arts:
        rows = snap.sentences(rowids[a.id])
        assert len(rows) and len(rows.words) == len(rows)
        for i in range(len(rows)):
            assert rows.words_at(i) == analyse(a.text[int(rows.starts[i]) : int(rows.ends[i])])
        assert rows.title == analyse(a.title)


def _as_before_the_words(path: Path) -> None:
    """The store as an index built before the words were stored has it: no such columns."""
    conn = sqlite3.connect(path / "store.sqlite")
    for table, cols in (
        ("sentences", ("canon", "words", "tags")),
        ("articles", ("title_canon", "title_words", "title_tags")),
    ):
        for col in cols:
            conn.execute(f"ALTER TABLE {table} DROP COLUMN {col}")
    conn.execute("DELETE FROM meta WHERE key=?", (FORMAT_KEY,))
    conn.commit()
    conn.close()


def _answers(index: Index) -> list[tuple[bool, str, str | None]]:
    out = []
    for q in QUESTIONS:
        a = ask(index, q)
        out.append((a.answered, a.answer, a.short_answer.text if a.short_answer else None))
    return out


def test_every_sentence_and_title_is_stored_with_its_words(fake_index):
    _stored_as_built(fake_index)
    manifest = json.loads((fake_index.path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["words_format"] == WORDS_FORMAT
    fake_index.checkpoint()  # sentences stay in the store, words with them
    _stored_as_built(fake_index)


def test_an_older_index_answers_the_same_and_upgrade_stores_its_words(tmp_path, seed_articles, caplog):
    from rag.answer import candidates

    path = tmp_path / "ix"
    with Index.open(path, FakeEmbedder()) as index:
        index.add(seed_articles)
        built = _answers(index)
    _as_before_the_words(path)
    with Index.open(path, FakeEmbedder()) as index:  # opening gives it the (empty) columns
        snap = index.snapshot()
        rows = snap.sentences(snap.rowids_of([seed_articles[0].id])[seed_articles[0].id])
        assert rows.words == (None,) * len(rows) and rows.title is None
        candidates._suggest_upgrade.cache_clear()
        with caplog.at_level(logging.WARNING, logger="rag.answer.candidates"):
            assert _answers(index) == built  # the words computed at query time: the same answers
        assert caplog.text.count("zhiwen upgrade --index") == 1  # said once, not per question
        assert index.upgrade().words == len(seed_articles)
        _stored_as_built(index)
        assert _answers(index) == built
        assert index.upgrade().words == 0  # nothing left to do


def test_an_interrupted_upgrade_keeps_what_it_stored_and_goes_on(tmp_path, seed_articles, monkeypatch):
    from rag import Article

    path = tmp_path / "ix"
    arts = [
        Article(id=f"a{i}", title=f"第{i}篇", text=f"第{i}条消息。长沙市召开会议，{i}人出席。")
        for i in range(12)
    ]
    with Index.open(path, FakeEmbedder()) as index:
        index.add(arts)
    _as_before_the_words(path)
    real = sentences_mod.analyse_many
    calls = 0

    def failing(texts):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        if calls > 5:
            raise RuntimeError("killed")
        return real(texts)

    with Index.open(path, FakeEmbedder()) as index:
        monkeypatch.setattr(sentences_mod, "analyse_many", failing)
        with pytest.raises(RuntimeError):
            fill_words(index.store.conn(), index.store.write, batch_articles=5)
        conn = index.store.conn()
        left = conn.execute(
            "SELECT COUNT(DISTINCT article_rowid) FROM sentences WHERE words IS NULL"
        ).fetchone()[0]
        assert left == 7  # the first batch of five committed, the second rolled back whole
        monkeypatch.setattr(sentences_mod, "analyse_many", real)
        assert index.upgrade().words == 7
        _stored_as_built(index)


def test_words_of_another_format_are_not_read_and_upgrade_makes_them_again(fake_index):
    conn = fake_index.store.conn()
    conn.execute("UPDATE meta SET value='0' WHERE key=?", (FORMAT_KEY,))
    conn.execute("UPDATE sentences SET words='1' WHERE rowid=1")
    snap = fake_index.snapshot()
    arts, _ = fake_index.list_articles(limit=1000)
    rows = snap.sentences(snap.rowids_of([arts[0].id])[arts[0].id])
    assert rows.words == (None,) * len(rows) and rows.title is None
    assert fake_index.upgrade().words == len(arts)
    assert conn.execute("SELECT value FROM meta WHERE key=?", (FORMAT_KEY,)).fetchone()[0] == str(
        WORDS_FORMAT
    )
    _stored_as_built(fake_index)


@pytest.mark.parametrize(
    ("column", "damaged", "said"),
    [("words", "1 1", "do not cover"), ("tags", "2n bad", "is not length + flag")],
)
def test_stored_words_that_do_not_fit_are_computed_again_with_a_warning(
    fake_index, caplog, column, damaged, said
):
    """Damaged word lengths, or damaged tags (parsed only where a sentence's tags are read,
    not for the lone characters of every sentence of an article), are made again from the text."""
    question = "出席全会的市委委员应到多少人，实到多少人？"
    before = ask(fake_index, question)
    conn = fake_index.store.conn()
    conn.execute(f"UPDATE sentences SET {column}=? WHERE words IS NOT NULL", (damaged,))
    with caplog.at_level(logging.WARNING, logger="rag.answer.candidates"):
        after = ask(fake_index, question)
    assert said in caplog.text
    assert (after.answered, after.answer, after.short_answer) == (
        before.answered,
        before.answer,
        before.short_answer,
    )


def test_an_index_made_without_words_answers_the_same_until_upgraded(tmp_path, seed_articles):
    with Index.open(tmp_path / "with", FakeEmbedder()) as index:
        index.add(seed_articles)
        stored = _answers(index)
    with Index.open(tmp_path / "without", FakeEmbedder(), store_words=False) as index:
        index.add(seed_articles)
        snap = index.snapshot()
        rows = snap.sentences(snap.rowids_of([seed_articles[0].id])[seed_articles[0].id])
        assert rows.words == (None,) * len(rows) and rows.title is None
        assert _answers(index) == stored
        assert index.upgrade().words == len(seed_articles)
        _stored_as_built(index)


def test_upgrade_in_worker_processes_stores_the_same_words(tmp_path, seed_articles):
    """`zhiwen upgrade` on a large index computes the words in one process per core; small
    batches here make the two workers and the read-ahead do their work on the seeds."""
    path = tmp_path / "ix"
    with Index.open(path, FakeEmbedder(), store_words=False) as index:
        index.add(seed_articles)
        assert fill_words(index.store.conn(), index.store.write, batch_articles=3, workers=2) == len(
            seed_articles
        )
        _stored_as_built(index)
        assert index.upgrade().words == 0
