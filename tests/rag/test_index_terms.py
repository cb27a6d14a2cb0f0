"""rag.index.terms: `zhiwen upgrade` makes the chunks' search terms again when an earlier
zhiwen made them another way, from the stored text, without re-embedding."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import numpy as np
import pytest

import rag.index.terms as terms_mod
from rag import Article, FakeEmbedder, Index, search
from rag.bm25 import TERMS_FORMAT
from rag.index.store import TERMS_FORMAT_KEY
from rag.index.terms import refresh_terms, terms_current

ARTICLES = [
    Article(
        id=f"a{i}",
        title=f"第{i}号通报",
        text=f"某县第{i}季度共投入资金{i + 2}万元。{i + 1}.5万人参加了培训，另有{i}千万元用于修路。会议要求继续推进。",
        published=f"2023-03-0{i % 9 + 1}",
        source="某县日报",
    )
    for i in range(9)
]


def _chunk_terms(path: Path) -> dict[tuple[str, int], dict[str, float]]:
    """Each chunk's terms as text with their counts, keyed by (article id, chunk number)."""
    conn = sqlite3.connect(path / "store.sqlite")
    vocab = dict(conn.execute("SELECT id, term FROM vocab"))
    out = {}
    for aid, n, tids, counts in conn.execute(
        "SELECT a.id, c.n, c.term_ids, c.term_counts FROM chunks c JOIN articles a ON a.rowid=c.article_rowid"
    ):
        ids = np.frombuffer(tids, dtype=np.int32)
        cnt = np.frombuffer(counts, dtype=np.float32)
        out[(aid, n)] = {vocab[int(i)]: float(c) for i, c in zip(ids, cnt, strict=True)}
    conn.close()
    return out


def _as_cut_by_an_earlier_zhiwen(index: Index) -> None:
    """Every chunk holds one term an earlier tokenizer made (`旧`), the persisted segment is
    made of those, and the meta names the first terms format."""
    with index.store.write() as conn:
        old = conn.execute(
            "INSERT INTO vocab (id, term) SELECT COALESCE(MAX(id), -1) + 1, '旧' FROM vocab"
        ).lastrowid
        tid = conn.execute("SELECT id FROM vocab WHERE rowid=?", (old,)).fetchone()[0]
        conn.execute(
            "UPDATE chunks SET term_ids=?, term_counts=?",
            (np.array([tid], np.int32).tobytes(), np.array([1.0], np.float32).tobytes()),
        )
        conn.executemany(
            "INSERT OR REPLACE INTO meta VALUES (?, ?)",
            [("segment", ""), ("segment_max_rowid", "0"), (TERMS_FORMAT_KEY, "1")],
        )
        conn.execute("UPDATE meta SET value=CAST(value AS INTEGER) + 1 WHERE key='generation'")
    index.checkpoint()


def _hits(index: Index, query: str) -> list[tuple[str, int]]:
    return [(h.article_id, h.start) for h in search(index, query, top_k=5)]


@pytest.fixture
def fresh(tmp_path):
    with Index.open(tmp_path / "fresh", FakeEmbedder()) as index:
        index.add(ARTICLES)
        yield index


def test_a_new_index_names_the_terms_format(fresh):
    assert terms_current(fresh.store.conn())
    assert fresh.upgrade().terms == 0


def test_upgrade_makes_the_terms_again_as_a_new_index_has_them(tmp_path, fresh, caplog):
    path = tmp_path / "old"
    with Index.open(path, FakeEmbedder()) as index:
        index.add(ARTICLES)
        _as_cut_by_an_earlier_zhiwen(index)
        assert _hits(index, "投入资金4万元") != _hits(fresh, "投入资金4万元")
    with caplog.at_level(logging.WARNING, logger="rag.index.core"):
        index = Index.open(path, FakeEmbedder())
    assert "zhiwen upgrade --index" in caplog.text
    try:
        segment_before = index.snapshot().segment.name
        vectors_before = index.snapshot().segment.vectors.matrix.copy()
        done = index.upgrade()
        assert done.terms == len(ARTICLES)
        assert _chunk_terms(path) == _chunk_terms(fresh.path)
        snap = index.snapshot()
        assert snap.segment.name != segment_before and snap.segment.n == fresh.snapshot().n_alive
        np.testing.assert_array_equal(snap.segment.vectors.matrix, vectors_before)  # nothing re-embedded
        for q in ("投入资金4万元", "多少人参加了培训", "千万元用于修路"):
            assert _hits(index, q) == _hits(fresh, q)
        assert index.upgrade().terms == 0
        assert (path / "manifest.json").read_text(encoding="utf-8").count(
            f'"terms_format": {TERMS_FORMAT}'
        ) == 1
    finally:
        index.close()


def test_an_interrupted_upgrade_searches_the_old_terms_and_goes_on(tmp_path, fresh, monkeypatch):
    path = tmp_path / "old"
    with Index.open(path, FakeEmbedder()) as index:
        index.add(ARTICLES)
        _as_cut_by_an_earlier_zhiwen(index)
        old_hits = _hits(index, "投入资金4万元")
        real = terms_mod.chunk_tokens
        calls = 0

        def failing(*args):  # type: ignore[no-untyped-def]
            nonlocal calls
            calls += 1
            if calls > 5:
                raise RuntimeError("killed")
            return real(*args)

        monkeypatch.setattr(terms_mod, "chunk_tokens", failing)
        with pytest.raises(RuntimeError):
            refresh_terms(index.store.conn(), index.store.write, batch_articles=4)
        conn = index.store.conn()
        assert (
            conn.execute(
                "SELECT COUNT(DISTINCT c.article_rowid) FROM chunk_terms_new n JOIN chunks c ON c.rowid=n.chunk_rowid"
            ).fetchone()[0]
            == 4
        )
        assert not terms_current(conn)
        assert _hits(index, "投入资金4万元") == old_hits  # readers still search what was committed
        monkeypatch.setattr(terms_mod, "chunk_tokens", real)
        assert index.upgrade().terms == len(ARTICLES) - 4
        assert _chunk_terms(path) == _chunk_terms(fresh.path)
        assert _hits(index, "投入资金4万元") == _hits(fresh, "投入资金4万元")


def test_killed_before_the_switch_the_index_opens_as_it_was_and_upgrade_goes_on(tmp_path, fresh, monkeypatch):
    """Killed after the new segment is written but before the store switches to it: the
    index opens with its old terms and old segment (no chunk read into memory from the
    store), and the next upgrade finishes, leaving one segment."""
    import rag.index.checkpoint as checkpoint_mod

    path = tmp_path / "old"
    with Index.open(path, FakeEmbedder()) as index:
        index.add(ARTICLES)
        _as_cut_by_an_earlier_zhiwen(index)
        old_hits = _hits(index, "投入资金4万元")
        old_segment = index.snapshot().segment.name

        def killed(*args):  # type: ignore[no-untyped-def]
            raise RuntimeError("killed")

        monkeypatch.setattr(checkpoint_mod, "switch_terms", killed)
        with pytest.raises(RuntimeError):
            index.upgrade()
    monkeypatch.undo()
    assert len(list((path / "segments").iterdir())) == 2  # the old one and the unused new one
    with Index.open(path, FakeEmbedder()) as index:
        snap = index.snapshot()
        assert snap.segment.name == old_segment and snap.segment.n == snap.n_alive  # nothing in memory
        assert _hits(index, "投入资金4万元") == old_hits
        assert index.upgrade().terms == len(ARTICLES)
        assert _chunk_terms(path) == _chunk_terms(fresh.path)
        for q in ("投入资金4万元", "多少人参加了培训"):
            assert _hits(index, q) == _hits(fresh, q)
        assert [p.name for p in (path / "segments").iterdir()] == [index.snapshot().segment.name]
