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
from tests.rag.embedder_helpers import RecordingEmbedder

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
        from pathlib import Path
        from rag.index.lock import writer_lock
        with writer_lock(Path({str(tmp_path / "ix")!r})):
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
from rag.index.store import Store
from rag import Article, FakeEmbedder, Index
ix = Index.open({path!r}, FakeEmbedder())
arts = [Article(id=f"k{{i}}", title="t", text=f"第{{i}}篇。" * 50) for i in range(400)]
calls = 0
real = Store.insert_chunks
def dying(conn, rowid, chunks):
    global calls
    calls += 1
    if calls == {die_at}:
        os.kill(os.getpid(), signal.SIGKILL)  # killed in the middle of a write transaction
    return real(conn, rowid, chunks)
Store.insert_chunks = staticmethod(dying)
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
    # the interrupted run, started again, embeds only what was not committed
    committed = stats["articles"] - 4
    arts = [Article(id=f"k{i}", title="t", text=f"第{i}篇。" * 50) for i in range(400)]
    counting = RecordingEmbedder()
    resumed = Index.open(path, counting)
    st = resumed.add(arts)
    assert st.unchanged == committed and st.added == 400 - committed
    assert {t.rstrip("。") for t in counting.texts} == {
        t for a in arts[committed:] for t in a.text.split("。") if t
    } | {"t"}
    n_store = resumed.store.conn().execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
    assert resumed.snapshot().n_alive == n_store == resumed.stats()["chunks"]


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
    for ix in (flat, hnsw):
        ix.add(arts)
        ix.checkpoint()
    assert hnsw.stats()["vector_index"] == "hnsw" and flat.stats()["vector_index"] == "flat"
    q = FakeEmbedder().encode_queries(["第7号新闻标题 长沙市召开第7次会议"])[0]
    fp, _ = flat.snapshot().dense_search(q, 5)
    hp, _ = hnsw.snapshot().dense_search(q, 5)
    assert fp[0] == hp[0]
    assert np.isin(hp, fp).mean() >= 0.6


def _dense_oracle(ix: Index, q: np.ndarray, k: int) -> np.ndarray:
    """Exact cosine over every live chunk, recomputed from the store's vectors."""
    rows = ix.store.conn().execute("SELECT vec FROM chunks").fetchall()
    vecs = np.stack([np.frombuffer(r[0], dtype=np.float32) for r in rows])
    return np.sort(vecs @ q)[::-1][:k]


def test_checkpoint_persists_the_search_structures_and_reopens_without_rebuilding(tmp_path, monkeypatch):
    import faiss

    path = tmp_path / "ix"
    index = Index.open(path, FakeEmbedder(), vector_index="hnsw")
    index.add(_articles(30))
    index.checkpoint()
    index.add(_articles(5, prefix="late"))  # after the checkpoint: read from the store
    index.delete("a3")  # a persisted chunk deleted: a tombstone
    before = index.stats()
    index.close()
    seg = json.loads((path / "manifest.json").read_text(encoding="utf-8"))["segment"]
    files = {p.name for p in (path / "segments" / seg).iterdir()}
    assert {"vectors.npy", "vectors.faiss", "bm25_indptr.npy", "chunks_rowid.npy", "segment.json"} <= files

    def no_build(*args, **kwargs):
        raise AssertionError("opening must load the persisted structures, not build them")

    monkeypatch.setattr(faiss, "IndexHNSWFlat", no_build)
    again = Index.open(path, FakeEmbedder(), vector_index="hnsw")
    snap = again.snapshot()
    assert again.stats() == before
    assert snap.segment.n > 0
    assert len(snap.delta) > 0 and not snap.alive.all()
    # counts agree between the store, the vectors and BM25
    n_store = again.store.conn().execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
    assert snap.n_alive == n_store == before["chunks"]
    q = FakeEmbedder().encode_queries(["第3号新闻标题"])[0]
    pos, _sims = snap.dense_search(q, 3)
    assert len(pos) == 3 and all(snap.alive[pos])


def test_checkpoint_keeps_dense_search_exact(tmp_path):
    index = Index.open(tmp_path / "ix", FakeEmbedder(), vector_index="flat")
    index.add(_articles(20))
    index.checkpoint()
    index.add(_articles(6, prefix="b"))
    index.delete("a1")
    index.delete("b2")
    q = FakeEmbedder().encode_queries(["长沙市召开第4次会议"])[0]
    _pos, sims = index.snapshot().dense_search(q, 8)
    assert np.allclose(sims, _dense_oracle(index, q, 8), atol=1e-5)
    index.checkpoint()  # deletes and late chunks folded into a new segment
    snap = index.snapshot()
    assert len(snap.delta) == 0 and snap.alive.all()
    _pos, sims = snap.dense_search(q, 8)
    assert np.allclose(sims, _dense_oracle(index, q, 8), atol=1e-5)
    assert len(list((tmp_path / "ix" / "segments").iterdir())) == 1  # the old segment is gone


def test_unreadable_segment_is_a_clear_error(tmp_path):
    from rag.errors import IndexCorruptError

    index = Index.open(tmp_path / "ix", FakeEmbedder())
    index.add(_articles(5))
    index.checkpoint()
    seg = index.snapshot().segment.name
    index.close()
    (tmp_path / "ix" / "segments" / seg / "vectors.npy").write_bytes(b"garbage")
    with pytest.raises(IndexCorruptError, match="rebuild"):
        Index.open(tmp_path / "ix", FakeEmbedder())


CHECKPOINT_CRASH = """
import os, signal, sys
sys.path.insert(0, {root!r})
import rag.index.checkpoint as checkpoint
from rag import FakeEmbedder, Index
ix = Index.open({path!r}, FakeEmbedder())
real = checkpoint.write_segment
def dying(*args, **kwargs):
    real(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)  # the segment is written, the store not yet switched
checkpoint.write_segment = dying
ix.checkpoint()
"""


def test_kill_during_checkpoint_keeps_the_previous_state(tmp_path):
    path = tmp_path / "ix"
    index = Index.open(path, FakeEmbedder())
    index.add(_articles(8))
    before = index.stats()
    index.close()
    proc = subprocess.run(
        [sys.executable, "-c", CHECKPOINT_CRASH.format(root=str(ROOT), path=str(path))], timeout=120
    )
    assert proc.returncode == -signal.SIGKILL
    reopened = Index.open(path, FakeEmbedder())
    assert reopened.stats() == before
    assert reopened.snapshot().segment.name == ""  # the store still names the old (empty) segment
    reopened.checkpoint()  # and a later checkpoint replaces the orphan
    assert reopened.stats()["chunks"] == before["chunks"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_index_dir_holds_only_plain_files(fake_index):
    names = {p.name for p in fake_index.path.iterdir()}
    assert {"manifest.json", "store.sqlite"} <= names


def test_sentence_vectors_are_stored_and_served_before_and_after_a_checkpoint(tmp_path):
    from rag.prepare import plan_chunks

    arts = _articles(6)
    index = Index.open(tmp_path / "ix", FakeEmbedder())
    index.add(arts)
    emb = FakeEmbedder()

    def check() -> None:
        snap = index.snapshot()
        rowids = snap.rowids_of([a.id for a in arts])
        for a in arts:
            rows = snap.sentences(rowids[a.id])
            plan = plan_chunks(a, target=index.chunk_target, overlap=index.chunk_overlap)
            assert list(zip(rows.starts.tolist(), rows.ends.tolist(), strict=True)) == list(
                plan.sentence_spans
            )
            want = emb.encode_documents([a.text[s:e] for s, e in plan.sentence_spans])
            assert np.allclose(np.asarray(rows.vectors, dtype=np.float32), want, atol=2e-3)
            part = snap.sentences(rowids[a.id], int(rows.starts[1]), int(rows.ends[2]))
            assert part.starts.tolist() == rows.starts[1:3].tolist()

    check()  # read from the store
    index.checkpoint()
    check()
    index.delete("a2")
    arts = [a for a in arts if a.id != "a2"]
    index.checkpoint()  # the deleted article's sentences are dropped
    check()


def test_articles_sentences_read_together_are_each_articles_own(tmp_path):
    """The hits' articles read in one go (`Snapshot.articles_sentences`) give what reading each
    alone gives (the oracle), for articles of the segment and of the delta; a rowid with no
    sentences (deleted, unknown) reads as no rows."""
    arts = _articles(6)
    index = Index.open(tmp_path / "ix", FakeEmbedder())
    index.add(arts[:4])
    index.checkpoint()
    index.add(arts[4:])
    index.delete("a1")
    snap = index.snapshot()
    rowids = snap.rowids_of([a.id for a in arts])
    unknown = max(rowids.values()) + 1000
    together = snap.articles_sentences([*rowids.values(), unknown])
    assert set(together) == {*rowids.values(), unknown}
    assert len(together[unknown]) == 0
    assert "a1" not in rowids  # deleted: not asked for
    for rowid in rowids.values():
        got, alone = together[rowid], snap.sentences(rowid)
        assert len(got) > 0
        assert got.article_rowids.tolist() == alone.article_rowids.tolist()
        assert got.starts.tolist() == alone.starts.tolist() and got.ends.tolist() == alone.ends.tolist()
        assert np.array_equal(got.vectors, alone.vectors)
        assert got.words == alone.words and got.title == alone.title
    assert snap.articles_sentences([]) == {}
    index.close()


@pytest.mark.parametrize("kind", ["ivf", "ivf-sq8", "hnsw-sq8"])
def test_every_ann_kind_persists_and_finds_the_exact_best(tmp_path, kind):
    index = Index.open(tmp_path / kind, FakeEmbedder(), vector_index=kind)
    index.add(_articles(80))
    index.checkpoint()
    index.close()
    again = Index.open(tmp_path / kind, FakeEmbedder(), vector_index=kind)
    snap = again.snapshot()
    assert snap.segment.ann_kind == kind and snap.segment.vectors.ann is not None
    q = FakeEmbedder().encode_queries(["第7号新闻标题 长沙市召开第7次会议"])[0]
    _pos, sims = snap.dense_search(q, 5)
    best = float(_dense_oracle(again, q, 1)[0])
    assert sims[0] == pytest.approx(best, abs=1e-5)  # scores come from the exact rows


def test_auto_follows_the_measured_policy(tmp_path, monkeypatch):
    import rag.index.checkpoint as checkpoint

    monkeypatch.setattr(checkpoint, "ann_policy", lambda: ("ivf", 50))
    small = Index.open(tmp_path / "small", FakeEmbedder())
    small.add(_articles(3))
    small.checkpoint()
    assert small.stats()["vector_index"] == "flat"  # below the policy's size: exact
    big = Index.open(tmp_path / "big", FakeEmbedder())
    big.add(_articles(60))
    big.checkpoint()
    assert big.snapshot().segment.n >= 50 and big.stats()["vector_index"] == "ivf"


def test_a_long_run_checkpoints_by_itself_once_enough_has_changed(tmp_path, monkeypatch):
    import rag.index.checkpoint as checkpoint
    import rag.index.core as core

    monkeypatch.setattr(checkpoint, "CHECKPOINT_MIN_CHUNKS", 8)
    monkeypatch.setattr(core, "BATCH_ARTICLES", 2)
    index = Index.open(tmp_path / "ix", FakeEmbedder())
    index.add(_articles(3))
    assert index.snapshot().segment.n == 0  # 3 articles' chunks: below the threshold
    index.add(_articles(10, prefix="b"))
    snap = index.snapshot()
    assert snap.segment.n > 0 and len(snap.delta) < 8  # persisted once enough chunks changed
    first = snap.segment
    for i in range(10):  # deleting persisted chunks counts as change too (tombstones)
        index.delete(f"b{i}")
    assert index.snapshot().segment.name != first.name  # no add since: the deletes checkpointed
    index.close()


def test_boilerplate_repeated_across_uploads_is_embedded_once(tmp_path):
    notice = "本网站所提供的信息仅供参考之用，并不代表本网赞同其观点"
    emb = RecordingEmbedder()
    index = Index.open(tmp_path / "ix", emb)
    first = Article(id="p1", title="甲公司年报", text=f"甲公司营收增长三成。{notice}。")
    second = Article(id="p2", title="乙公司年报", text=f"乙公司利润下降一成。{notice}。")
    index.add([first])
    index.add([second])  # a second upload to the same open index
    assert sum(t.startswith(notice) for t in emb.texts) == 1
    snap = index.snapshot()
    rowids = snap.rowids_of(["p1", "p2"])
    last = [np.asarray(snap.sentences(rowids[i]).vectors[-1], np.float32) for i in ("p1", "p2")]
    assert np.array_equal(last[0], last[1])
    assert np.allclose(last[1], FakeEmbedder().encode_documents([f"{notice}。"])[0], atol=2e-3)
