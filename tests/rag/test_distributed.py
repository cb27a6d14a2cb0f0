"""Indexing on Ray (rag.distributed): same result as a local run, resumable, fails clearly.

Ray starts once for the module (`num_cpus=2`, several seconds); the CLI tests that need
their own Ray instance are `slow`.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rag import FakeEmbedder, Index, get_embedder, read_paths
from rag.distributed import (
    RayIndexResult,
    RayOptions,
    _expand,
    _read_rows,
    ray_index,
    ray_prepare,
    ray_read,
)
from rag.ingest import merge_results
from rag.prepare import PreparedArticle, prepare_articles
from rag.records import IngestResult
from tests.conftest import ROOT, SEEDS, free_port, shared_path

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
CLI_ENV = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "PYTHONPATH": str(ROOT)}


def zhiwen(*args: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from rag.cli import main; sys.exit(main())", *args]


# --------------------------------------------------------------------------- no Ray needed


def test_an_embed_actor_embeds_a_text_it_embedded_lately_once():
    from rag import Article
    from rag.distributed import EmbedActor
    from rag.prepare import plan_chunks
    from tests.rag.embedder_helpers import RecordingEmbedder

    notice = "以上内容由本站根据公开信息整理，不构成投资建议"
    actor = EmbedActor("fake", factory=RecordingEmbedder)
    batches = [
        [
            plan_chunks(
                Article(id=f"r{i}", title=f"第{i}只股票", text=f"第{i}只股票今天上涨了{i}%。{notice}。")
            )
        ]
        for i in range(2)
    ]
    no_tokens = np.empty(1, dtype=object)
    no_tokens[0] = ()
    outs = [actor({"plan": np.array(b, dtype=object), "tokens": no_tokens}) for b in batches]
    assert sum(t.startswith(notice) for t in actor.embedder.texts) == 1  # type: ignore[attr-defined]
    assert np.array_equal(outs[0]["vectors"][0][-1], outs[1]["vectors"][0][-1])


def test_index_without_ray_imports_no_ray(tmp_path):
    code = (
        "import sys; from rag.cli import main; "
        f"rc = main(['index', {str(SEEDS)!r}, '--index', {str(tmp_path / 'ix')!r}, '--embedder', 'fake', '-q']); "
        "assert rc == 0, rc; print(sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=CLI_ENV, cwd=ROOT, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_dead_address_is_a_one_line_error(tmp_path):
    port = free_port()  # nothing listens there
    out = subprocess.run(
        zhiwen(
            "index",
            str(SEEDS),
            "--index",
            str(tmp_path / "ix"),
            "--embedder",
            "fake",
            "--ray",
            f"127.0.0.1:{port}",
        ),
        capture_output=True,
        text=True,
        env=CLI_ENV,
        cwd=ROOT,
        timeout=120,
    )
    assert out.returncode == 2
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("zhiwen: "), out.stderr
    assert "Traceback" not in out.stderr
    assert "ray start --head" in lines[0] or "pip install" in lines[0]


def test_ray_options_from_the_command_line(monkeypatch):
    from rag.cli import build_parser

    p = build_parser()
    assert p.parse_args(["index", "x"]).ray is None
    assert p.parse_args(["index", "x", "--ray"]).ray == "local"
    a = p.parse_args(["index", "x", "--ray", "auto", "--ray-actors", "3", "--ray-batch-size", "8"])
    assert (a.ray, a.ray_actors, a.ray_batch_size) == ("auto", 3, 8)
    from rag.settings import Settings

    monkeypatch.setenv("ZHIWEN_RAY_ADDRESS", "10.0.0.1:6379")
    assert Settings().ray_address == "10.0.0.1:6379"


def test_per_file_reads_merge_like_read_paths(tmp_path):
    """Reading files one per task, then merging, gives what one `read_paths` call gives,
    including an id repeated across files (the first one wins, the second is reported)."""
    (tmp_path / "b").mkdir()
    rec = {"id": "same", "title": "标题", "text": "第一篇的正文。"}
    (tmp_path / "a.jsonl").write_text(json.dumps(rec, ensure_ascii=False) + "\n", encoding="utf-8")
    rec2 = {**rec, "text": "第二篇的正文，id 重复。"}
    (tmp_path / "b" / "c.jsonl").write_text(json.dumps(rec2, ensure_ascii=False) + "\n", encoding="utf-8")
    (tmp_path / ".hidden.txt").write_text("隐藏", encoding="utf-8")
    paths = [SEEDS, tmp_path, tmp_path / "missing.txt"]
    want = read_paths(paths)
    files, errors = _expand(paths)
    parts = []
    for n, f in enumerate(files):
        rows = _read_rows({"n": n, "path": str(f)})
        parts.append(
            IngestResult(
                articles=[r["article"] for r in rows if r["article"] is not None],
                errors=[r["error"] for r in rows if r["error"] is not None],
            )
        )
    got = merge_results(parts)
    got.errors[:0] = errors
    assert got.articles == want.articles
    assert sorted((e.path, e.reason) for e in got.errors) == sorted((e.path, e.reason) for e in want.errors)


# --------------------------------------------------------------------------- one Ray for the module


@pytest.fixture(scope="module")
def ray_local():
    ray = pytest.importorskip("ray", reason="Ray is not installed: `pip install 'zhiwen[ray]'`")
    import logging

    from ray import cloudpickle

    # the test's embedders below are defined here: ship them to the workers by value
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)
    yield ray
    ray.shutdown()


def same_prepared(got: list[PreparedArticle], want: list[PreparedArticle], atol: float = 1e-5) -> None:
    g = {p.article.id: p for p in got}
    w = {p.article.id: p for p in want}
    assert sorted(g) == sorted(w)
    for aid, p in w.items():
        q = g[aid]
        assert q.article == p.article
        assert q.spans == p.spans and q.tokens == p.tokens, aid
        assert q.sentence_spans == p.sentence_spans, aid
        assert q.sentence_words == p.sentence_words and q.title_words == p.title_words, aid
        np.testing.assert_allclose(q.vectors, p.vectors, atol=atol, err_msg=aid)
        if p.sentence_vectors is not None:
            assert q.sentence_vectors is not None
            np.testing.assert_allclose(
                q.sentence_vectors.astype(np.float32), p.sentence_vectors.astype(np.float32), atol=2e-3
            )


class Recorder:
    """An index that keeps what `ray_index` hands its writer (a proxy of the public API)."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self.embedder = index.embedder
        self.chunk_target, self.chunk_overlap = index.chunk_target, index.chunk_overlap
        self.store_words = index.store_words
        self.prepared: list[PreparedArticle] = []
        self.pending = index.pending

    def add_prepared(self, batches, **kw):  # type: ignore[no-untyped-def]
        def tee():  # type: ignore[no-untyped-def]
            for b in batches:
                self.prepared.extend(b)
                yield b

        return self.index.add_prepared(tee(), **kw)


def test_ray_prepare_equals_local_with_fake_embedder(ray_local, seed_articles):
    got = [
        p for batch in ray_prepare(seed_articles, "fake", ray_local, target=320, overlap=80) for p in batch
    ]
    same_prepared(got, prepare_articles(seed_articles, FakeEmbedder()))


@pytest.mark.timeout(300)
def test_two_actors_on_two_cpus_leave_room_for_the_splitting_tasks(ray_local, seed_articles):
    """Many small blocks, so splitting tasks still run once both actors are up (with 1 CPU
    each on a 2-CPU instance they would wait forever)."""
    opts = RayOptions(actors=2, batch_size=2)
    got = [
        p
        for b in ray_prepare(seed_articles, "fake", ray_local, options=opts, target=320, overlap=80)
        for p in b
    ]
    assert sorted(p.article.id for p in got) == sorted(a.id for a in seed_articles)


def test_ray_read_equals_read_paths(ray_local):
    want = read_paths([SEEDS])
    got = ray_read([SEEDS], ray_local)
    assert got.articles == want.articles and got.errors == want.errors


def test_ray_index_skips_committed_articles_before_sending(ray_local, tmp_path, seed_articles):
    """Half committed (as an interrupted run leaves it): the rerun sends only the rest."""
    index = Index.open(tmp_path / "ix", FakeEmbedder())
    index.add(seed_articles[:7])
    rec = Recorder(index)
    run: RayIndexResult = ray_index(rec, [SEEDS])  # type: ignore[arg-type]
    assert run.articles == len(seed_articles) and run.sent == len(seed_articles) - 7
    assert sorted(p.article.id for p in rec.prepared) == sorted(a.id for a in seed_articles[7:])
    assert run.stats.added == len(seed_articles) - 7 and run.stats.unchanged == 7
    again = ray_index(index, [SEEDS])
    assert again.sent == 0 and again.stats.unchanged == len(seed_articles)
    assert index.stats()["articles"] == len(seed_articles)
    index.close()


class CrashOnce(FakeEmbedder):
    """Kills its own worker process on its first call unless `marker` exists (creating it):
    a worker lost mid-run."""

    def __init__(self, marker: str) -> None:
        super().__init__()
        self.marker = Path(marker)

    def encode(self, texts, *, kind="document"):  # type: ignore[no-untyped-def]
        if not self.marker.exists():
            self.marker.write_text(str(os.getpid()))
            os._exit(1)
        return super().encode(texts, kind=kind)


def test_a_killed_embedding_actor_is_restarted_and_the_index_completes(ray_local, tmp_path, seed_articles):
    marker = tmp_path / "crashed"
    index = Index.open(tmp_path / "ix", FakeEmbedder())
    run = ray_index(index, [SEEDS], embedder_factory=functools.partial(CrashOnce, str(marker)))
    assert marker.exists()  # a worker did die
    assert run.stats.added == len(seed_articles)
    local = Index.open(tmp_path / "local", FakeEmbedder())
    local.add(seed_articles)
    assert index.stats()["articles"] == local.stats()["articles"]
    assert index.stats()["chunks"] == local.stats()["chunks"]
    index.close()
    local.close()


# --------------------------------------------------------------------------- slow: real embedder, CRUD


def crud_file(tmp_path: Path, n: int) -> Path:
    src = shared_path("corpora", "crud_news_2023.jsonl.gz")
    out = tmp_path / f"crud{n}.jsonl"
    with gzip.open(src, "rt", encoding="utf-8") as f, out.open("w", encoding="utf-8") as g:
        g.writelines(itertools.islice(f, n))
    return out


@pytest.mark.slow
def test_500_crud_articles_on_ray_equal_a_local_run(ray_local, tmp_path):
    data = crud_file(tmp_path, 500)
    articles = read_paths([data]).articles
    assert len(articles) == 500
    emb = get_embedder("use")
    local = Index.open(tmp_path / "local", emb)
    want = [
        p
        for i in range(0, len(articles), 128)
        for p in prepare_articles(
            articles[i : i + 128], emb, target=local.chunk_target, overlap=local.chunk_overlap
        )
    ]
    local.add_prepared([want[i : i + 128] for i in range(0, len(want), 128)])
    remote = Recorder(Index.open(tmp_path / "ray", emb))
    run = ray_index(remote, [data])  # type: ignore[arg-type]
    assert run.sent == 500 and run.stats.added == 500
    same_prepared(remote.prepared, want)
    a, b = local.stats(), remote.index.stats()
    assert (a["articles"], a["chunks"]) == (b["articles"], b["chunks"])
    ids_a = [x.id for x in local.list_articles(limit=1000)[0]]
    ids_b = [x.id for x in remote.index.list_articles(limit=1000)[0]]
    assert sorted(ids_a) == sorted(ids_b) == sorted(x.id for x in articles)
    local.close()
    remote.index.close()


@pytest.mark.slow
def test_killing_the_driver_then_rerunning_embeds_only_what_was_not_committed(tmp_path):
    """`zhiwen index --ray` SIGKILLed after its first commit; the rerun sends only the rest
    to Ray and the index ends complete."""
    n = 500
    data = crud_file(tmp_path, n)
    ix = tmp_path / "ix"
    cmd = zhiwen("index", str(data), "--index", str(ix), "--embedder", "use", "--ray")
    err = (tmp_path / "err1").open("w")
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=err, env=CLI_ENV, cwd=ROOT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 600
        done = 0
        while time.monotonic() < deadline and proc.poll() is None:
            text = (tmp_path / "err1").read_text(encoding="utf-8", errors="replace")
            counts = [int(c) for c in re.findall(rf"\| (\d+)/{n} \[", text)]
            done = max(counts, default=0)
            if done >= 128:  # at least one batch committed
                break
            time.sleep(0.5)
        assert proc.poll() is None, "the first run ended before it could be interrupted"
        assert done >= 128, "no batch committed within the time limit"
        proc.send_signal(signal.SIGKILL)  # the driver only: no chance to clean up
        proc.wait(timeout=30)
    finally:
        err.close()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # Ray processes the driver left behind
    index = Index.open(ix, get_embedder("use"), create=False)
    committed = int(index.stats()["articles"])  # type: ignore[call-overload]
    index.close()
    assert 0 < committed < n
    out = subprocess.run([*cmd, "-q"], capture_output=True, text=True, env=CLI_ENV, cwd=ROOT, timeout=1200)
    assert out.returncode == 0, out.stderr
    assert f"({n - committed} embedded)" in out.stdout, out.stdout
    assert f"{n - committed} added, 0 updated, {committed} unchanged" in out.stdout, out.stdout
    index = Index.open(ix, get_embedder("use"), create=False)
    assert index.stats()["articles"] == n
    index.close()
