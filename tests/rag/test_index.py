from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from rag import Article, FakeEmbedder, Index
from rag.errors import EmbedderMismatchError, IndexLockedError, IndexMissingError, InputError, NotFoundError

ROOT = Path(__file__).resolve().parents[2]


def _articles(n: int, prefix: str = "a") -> list[Article]:
    return [
        Article(
            id=f"{prefix}{i}",
            title=f"第{i}号新闻标题",
            text=f"这是第{i}篇文章。长沙市召开第{i}次会议，出席会议的有张{i}、李{i}。" * 3,
            published=f"2023-01-{1 + i % 28:02d}",
            source="甲报" if i % 2 else "乙报",
        )
        for i in range(n)
    ]


def test_save_load_round_trip(tmp_path, seed_articles):
    index = Index.open(tmp_path / "ix", FakeEmbedder())
    stats = index.add(seed_articles)
    assert stats.added == len(seed_articles) and stats.chunks > 0
    before = index.stats()
    index.close()

    manifest = json.loads((tmp_path / "ix" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["embedder"] == "fake-64" and manifest["articles"] == before["articles"]
    assert not list((tmp_path / "ix").glob("*.pkl"))

    again = Index.open(tmp_path / "ix", FakeEmbedder())
    assert again.stats() == before
    art = again.get_article(seed_articles[0].id)
    assert art.text == seed_articles[0].text  # stored verbatim, original script


def test_readd_unchanged_does_nothing_and_changed_replaces(tmp_path):
    index = Index.open(tmp_path / "ix", FakeEmbedder())
    arts = _articles(5)
    index.add(arts)
    assert index.add(arts).unchanged == 5
    changed = replace(arts[2], text="完全不同的正文。只有一句。")
    stats = index.add([changed])
    assert stats.updated == 1 and stats.added == 0
    assert index.get_article("a2").text == "完全不同的正文。只有一句。"
    assert index.stats()["articles"] == 5
    # the old chunks are gone from both legs
    from rag import search

    for h in search(index, "长沙市召开第2次会议", top_k=10):
        assert h.article_id != "a2" or "完全不同" in h.text


def test_delete_removes_from_every_leg(tmp_path, seed_articles):
    from rag import search

    index = Index.open(tmp_path / "ix", FakeEmbedder())
    index.add(seed_articles)
    parent = "003_f796007d3590bde0"
    removed = index.delete(parent)
    assert removed == 1 + sum(1 for a in seed_articles if a.parent_id == parent)
    with pytest.raises(NotFoundError, match="zhiwen articles list"):
        index.get_article(parent)
    for q in ("長沙要堅守哪三條底線", "胡衡华调任陕西省委副书记"):
        assert all(not h.article_id.startswith(parent) for h in search(index, q, top_k=20))
    with pytest.raises(NotFoundError):
        index.delete(parent)
    index.close()
    reopened = Index.open(tmp_path / "ix", FakeEmbedder())
    assert reopened.stats()["articles"] == 1


def test_open_missing_and_embedder_mismatch(tmp_path):
    with pytest.raises(IndexMissingError, match="zhiwen index"):
        Index.open(tmp_path / "none", FakeEmbedder(), create=False)
    Index.open(tmp_path / "ix", FakeEmbedder(64)).close()
    with pytest.raises(EmbedderMismatchError, match="rebuild"):
        Index.open(tmp_path / "ix", FakeEmbedder(32))


def test_bad_articles_are_refused_without_touching_the_index(tmp_path):
    index = Index.open(tmp_path / "ix", FakeEmbedder())
    index.add(_articles(3))
    with pytest.raises(InputError):
        index.add([Article(id="x", title="t", text="   ")])
    assert index.stats()["articles"] == 3


def test_second_writer_is_kept_out(tmp_path):
    index = Index.open(tmp_path / "ix", FakeEmbedder())
    index.add(_articles(2))
    script = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from rag import FakeEmbedder, Index
        ix = Index.open({str(tmp_path / "ix")!r}, FakeEmbedder())
        with ix._process_lock():
            print("locked", flush=True)
            time.sleep(30)
        """
    )
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(IndexLockedError, match="wait"):
            index.add(_articles(3, prefix="b"))
        assert index.stats()["articles"] == 2
    finally:
        holder.kill()
        holder.wait()
    assert index.add(_articles(3, prefix="b")).added == 3


CRASH = """
import os, signal, sys
sys.path.insert(0, {root!r})
import rag.index as ri
from rag import Article, FakeEmbedder, Index
ix = Index.open({path!r}, FakeEmbedder())
arts = [Article(id=f"k{{i}}", title="t", text=f"第{{i}}篇。" * 50) for i in range(400)]
calls = 0
real = ri._vec_blob
def dying(v):
    global calls
    calls += 1
    if calls == {die_at}:
        os.kill(os.getpid(), signal.SIGKILL)  # killed in the middle of a write
    return real(v)
ri._vec_blob = dying
ix.add(arts)
"""


@pytest.mark.parametrize("die_at", [5, 200])
def test_kill_during_index_leaves_committed_state_loadable(tmp_path, die_at):
    path = tmp_path / "ix"
    index = Index.open(path, FakeEmbedder())
    index.add(_articles(4))
    index.close()
    proc = subprocess.run(
        [sys.executable, "-c", CRASH.format(root=str(ROOT), path=str(path), die_at=die_at)], timeout=120
    )
    assert proc.returncode == -signal.SIGKILL
    reopened = Index.open(path, FakeEmbedder())
    stats = reopened.stats()
    # the four committed articles survive; a killed batch left nothing half-written
    assert stats["articles"] >= 4
    assert (stats["articles"] - 4) % 128 == 0
    for i in range(4):
        assert reopened.get_article(f"a{i}").title == f"第{i}号新闻标题"
    from rag import search

    hits = search(reopened, "长沙市召开第1次会议", top_k=3)
    assert hits and hits[0].text
    # the lock was released by the dead process: a new writer gets in
    assert reopened.add(_articles(2, prefix="z")).added == 2


def test_reader_in_another_process_sees_new_commits(tmp_path):
    writer = Index.open(tmp_path / "ix", FakeEmbedder())
    reader = Index.open(tmp_path / "ix", FakeEmbedder())
    writer.add(_articles(3))
    from rag import search

    hits = search(reader, "第2号新闻标题", top_k=3)
    assert reader.stats()["articles"] == 3
    assert any(h.article_id == "a2" for h in hits)


def test_list_articles_filters_and_pages(tmp_path):
    index = Index.open(tmp_path / "ix", FakeEmbedder())
    index.add(_articles(10))
    page, total = index.list_articles(limit=4)
    assert total == 10 and len(page) == 4
    only, total = index.list_articles(source="甲报")
    assert total == 5 and all(a.source == "甲报" for a in only)
    dated, total = index.list_articles(since="2023-01-05", until="2023-01-06")
    assert {a.published for a in dated} <= {"2023-01-05", "2023-01-06"} and total == 2
    with pytest.raises(InputError):
        index.list_articles(offset=-1)


def test_hnsw_mode_returns_the_same_best_hit(tmp_path):
    arts = _articles(60)
    flat = Index.open(tmp_path / "flat", FakeEmbedder(), vector_index="flat")
    hnsw = Index.open(tmp_path / "hnsw", FakeEmbedder(), vector_index="hnsw")
    flat.add(arts)
    hnsw.add(arts)
    assert hnsw.stats()["vector_index"] == "hnsw"
    q = FakeEmbedder().encode_queries(["第7号新闻标题 长沙市召开第7次会议"])[0]
    with flat.reading() as fs, hnsw.reading() as hs:
        fp, _ = flat.dense_search(fs, q, 5, None)
        hp, _ = hnsw.dense_search(hs, q, 5, None)
    assert fp[0] == hp[0]
    assert np.isin(hp, fp).mean() >= 0.6


def test_hnsw_graph_is_cached_on_disk_and_checked(tmp_path, monkeypatch):
    import faiss

    index = Index.open(tmp_path / "ix", FakeEmbedder(), vector_index="hnsw")
    index.add(_articles(30))
    index.close()
    assert (tmp_path / "ix" / "vectors.hnsw").exists()

    def no_build(*args, **kwargs):
        raise AssertionError("the cached graph should have been loaded")

    monkeypatch.setattr(faiss, "IndexHNSWFlat", no_build)
    again = Index.open(tmp_path / "ix", FakeEmbedder(), vector_index="hnsw")
    assert again.stats()["vector_index"] == "hnsw"
    again.close()
    monkeypatch.undo()
    # a stale cache (the articles changed behind it) is not used: it is rebuilt
    (tmp_path / "ix" / "vectors.hnsw.rowids.npy").write_bytes(b"garbage")
    third = Index.open(tmp_path / "ix", FakeEmbedder(), vector_index="hnsw")
    q = FakeEmbedder().encode_queries(["第3号新闻标题"])[0]
    with third.reading() as st:
        pos, _ = third.dense_search(st, q, 3, None)
    assert len(pos) == 3


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_index_dir_holds_only_plain_files(fake_index):
    names = {p.name for p in fake_index.path.iterdir()}
    assert {"manifest.json", "store.sqlite"} <= names
