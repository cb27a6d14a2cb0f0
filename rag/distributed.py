"""Indexing on Ray: the model-free work fans out as Ray Data tasks, embedding runs in an
actor pool, and prepared articles stream back to the one local index writer.

    files ──read/parse (tasks)──▶ articles ──▶ driver: `Index.pending` drops unchanged ones
    articles ──plan_chunks + tokenize_plan (tasks)──▶ plans
    plans ──embed_plans (actor pool: each actor loads the embedder once)──▶ vectors
    driver: `finish` ──▶ `Index.add_prepared` (one SQLite transaction per batch)

Every step calls the same `rag.prepare` functions as a local run, so both give the same
chunks and tokens, and vectors equal within float tolerance. Vectors travel as numpy
arrays through Ray's object store; nothing is pickled to disk. Articles already committed
with the same content hash are skipped before any work is sent to Ray, so rerunning an
interrupted run embeds only what was not committed.

Ray is imported only inside these functions: `zhiwen index` without `--ray` never
loads it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rag.embed import Embedder, SentenceTransformerEmbedder, get_embedder
from rag.errors import EmbedderMismatchError, ZhiwenError
from rag.ingest import merge_results
from rag.prepare import (
    ChunkPlan,
    PreparedArticle,
    RecentVectors,
    embed_plans,
    finish,
    plan_chunks,
    tokenize_plan,
)
from rag.records import AddStats, Article, FileError, IngestResult

logger = logging.getLogger(__name__)

LOCAL = "local"  # the address meaning "start a Ray instance on this machine for this run"
DEFAULT_ACTORS = 1
DEFAULT_BATCH_SIZE = 32  # articles per embedder call inside an actor
DEFAULT_COMMIT_ARTICLES = 128  # articles per index transaction (as a local run)
PLAN_CPUS = 0.25  # per splitting/tokenising task: cheap next to embedding
GCS_PORT = 6379  # `ray start --head`'s default
CLIENT_PORT = 10001  # Ray Client (`ray://HEAD`)


class RayUnavailableError(ZhiwenError):
    """Ray is not installed, the cluster cannot be reached, or the Ray run failed."""

    code = "ray_unavailable"


@dataclass(frozen=True, slots=True)
class RayOptions:
    """How to run on Ray. `address`: None or "local" starts a Ray instance for this run;
    "auto" joins the cluster this machine belongs to (`ray start`); "HOST:PORT" or
    "ray://HOST:PORT" joins that one."""

    address: str | None = None
    actors: int = DEFAULT_ACTORS
    batch_size: int = DEFAULT_BATCH_SIZE
    num_gpus: float | None = None  # per actor; None = 1 for `st:` models when the cluster has GPUs
    cpus_per_actor: float = 1.0  # at most; less when the cluster is small (see ray_prepare)
    num_cpus: int | None = None  # CPUs of a local instance (default: those this process may use)
    commit_articles: int = DEFAULT_COMMIT_ARTICLES
    max_restarts: int = 3  # an actor killed mid-run is restarted and its batch retried
    connect_timeout_s: float = 5.0


@dataclass(slots=True)
class RayIndexResult:
    """What a Ray ingest did: the writer's stats, unreadable inputs, and timings."""

    stats: AddStats
    errors: list[FileError] = field(default_factory=list)
    articles: int = 0  # read from the inputs
    sent: int = 0  # new or changed: sent to Ray to embed
    start_s: float = 0.0  # connecting to (or starting) Ray
    first_batch_s: float | None = None  # from the start of `ray.init` to the first prepared batch
    total_s: float = 0.0


# --------------------------------------------------------------------------- session


def _check_reachable(address: str, timeout_s: float) -> None:
    """Fail fast on a dead address: `ray.init` itself retries for minutes."""
    hostport = address.removeprefix("ray://")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():  # Ray Client's default port, or the GCS's
        host, port = hostport, str(CLIENT_PORT if address.startswith("ray://") else GCS_PORT)
    try:
        with socket.create_connection((host, int(port)), timeout=timeout_s):
            return
    except OSError as exc:
        raise RayUnavailableError(
            f"cannot reach a Ray cluster at {address} ({exc.strerror or exc}); start one with "
            "`ray start --head` on the head machine, check the address (HOST:PORT of the head, "
            f"port {GCS_PORT} by default; or `auto` on a machine that ran `ray start`), or give "
            "`--ray` without an address to start a local Ray instance"
        ) from None


@contextlib.contextmanager
def ray_session(options: RayOptions | None = None) -> Iterator[Any]:
    """Connect to (or start) Ray for the duration of the block; yields the `ray` module.

    A Ray session already open in this process (e.g. a test's) is used as is and left open.
    """
    options = options or RayOptions()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        import ray
        import ray.data
    except ImportError:
        raise RayUnavailableError(
            "Ray is not installed; install it with `pip install 'zhiwen[ray]'` (or `make install`)"
        ) from None
    verbose = logger.isEnabledFor(logging.INFO)
    _quiet_ray_data(ray, verbose)
    if ray.is_initialized():
        yield ray
        return
    address = options.address
    kwargs: dict[str, Any] = {
        "include_dashboard": False,
        "logging_level": logging.INFO if verbose else logging.ERROR,
        "log_to_driver": verbose,
    }
    if address in (None, "", LOCAL):
        kwargs["num_cpus"] = options.num_cpus or _local_cpus()
        address = None
    elif address != "auto":
        _check_reachable(address, options.connect_timeout_s)
    try:
        ray.init(address=address, **kwargs)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        if address == "auto":
            msg = (
                "no running Ray cluster found from this machine; run `ray start --head` here (or "
                "`ray start --address=HEAD:6379` to join one) first, give the head's HOST:PORT, or "
                "give `--ray` without an address to start a local Ray instance"
            )
        else:
            where = f"at {address}" if address else "on this machine"
            msg = f"cannot start or join Ray {where}: {_first_line(exc)}; check the address and that the "
            msg += "cluster runs the same Ray and Python versions as this machine"
        raise RayUnavailableError(msg) from None
    logger.info("Ray resources: %s", ray.cluster_resources())
    try:
        yield ray
    finally:
        ray.shutdown()


def _local_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _quiet_ray_data(ray: Any, verbose: bool) -> None:
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False  # the index writer shows the one progress bar
    ctx.print_on_execution_start = verbose
    ctx.enable_auto_log_stats = False
    if not verbose:
        logging.getLogger("ray.data").setLevel(logging.ERROR)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]


# --------------------------------------------------------------------------- read


def _expand(paths: Sequence[str | Path]) -> tuple[list[Path], list[FileError]]:
    """Files under `paths` in `read_paths` order (folders recursively, sorted, hidden skipped)."""
    files: list[Path] = []
    errors: list[FileError] = []
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found: list[Path] = []
            for root, dirs, names in os.walk(path):
                dirs[:] = [d for d in dirs if not d.startswith(".")]
                found.extend(Path(root, n) for n in names if not n.startswith("."))
            candidates = sorted(found)
        elif path.exists() or path.is_symlink():
            candidates = [path]
        else:
            errors.append(FileError(str(path), "no such file or directory; check the path and try again"))
            continue
        for f in candidates:
            if f.resolve() not in seen:
                seen.add(f.resolve())
                files.append(f)
    return files, errors


def _read_rows(row: dict[str, Any]) -> list[dict[str, Any]]:
    """Ray task: parse one file (on whichever node runs it: inputs must be on a path every
    node can read)."""
    from rag.ingest import read_paths

    result = read_paths([row["path"]])
    out: list[dict[str, Any]] = [
        {"n": row["n"], "seq": i, "article": a, "error": None} for i, a in enumerate(result.articles)
    ]
    out += [
        {"n": row["n"], "seq": len(out) + i, "article": None, "error": e} for i, e in enumerate(result.errors)
    ]
    return out


def ray_read(paths: Sequence[str | Path], ray: Any) -> IngestResult:
    """Read and parse files as Ray Data tasks (one per file); the result matches `read_paths`."""
    files, errors = _expand(paths)
    if not files:
        return IngestResult(errors=errors)
    items = [{"n": n, "path": str(f)} for n, f in enumerate(files)]
    ds = ray.data.from_items(items, override_num_blocks=min(len(items), 256)).flat_map(_read_rows)
    parts = [IngestResult() for _ in files]
    rows = sorted(ds.iter_rows(), key=lambda r: (r["n"], r["seq"]))
    for r in rows:
        if r["article"] is not None:
            parts[r["n"]].articles.append(r["article"])
        else:
            parts[r["n"]].errors.append(r["error"])
    merged = merge_results(parts)
    merged.errors[:0] = errors
    return merged


# --------------------------------------------------------------------------- prepare


def _plan_batch(batch: dict[str, np.ndarray], target: int, overlap: int, words: bool) -> dict[str, Any]:
    """Ray task: split and tokenise a batch of articles (no model); with `words`, the
    sentences' stored words too (rag.sentence_words)."""
    plans = [plan_chunks(a, target=target, overlap=overlap) for a in batch["article"]]
    tokens = [tokenize_plan(p, words=words) for p in plans]
    return {"plan": _objects(plans), "tokens": _objects(tokens)}


def _objects(items: Sequence[Any]) -> np.ndarray:
    """A 1-d object column (numpy would turn nested tuples into a multi-dimensional array)."""
    out = np.empty(len(items), dtype=object)
    for i, x in enumerate(items):
        out[i] = x
    return out


class EmbedActor:
    """Ray actor: loads the embedder once, then embeds batches of plans with `embed_plans`."""

    def __init__(self, spec: str, device: str | None = None, factory: Callable[[], Embedder] | None = None):
        if factory is not None:
            self.embedder = factory()
        elif device and spec.startswith("st:"):
            self.embedder = SentenceTransformerEmbedder(spec[3:], device=device)
        else:
            self.embedder = get_embedder(spec)
        self.recent = RecentVectors()  # each actor embeds a text it embedded lately only once

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, Any]:
        plans: list[ChunkPlan] = list(batch["plan"])
        vectors = embed_plans(plans, self.embedder, self.recent)
        return {
            "plan": _objects(plans),
            "tokens": _objects(list(batch["tokens"])),
            # (len(embed_texts), dim) float32 per article: a (ragged) tensor column, not pickled
            "vectors": _objects([np.asarray(v, dtype=np.float32) for v in vectors]),
            "embedder": np.array([self.embedder.name] * len(plans)),
        }


def _gpus_per_actor(options: RayOptions, spec: str, ray: Any) -> float:
    if options.num_gpus is not None:
        return options.num_gpus
    if spec.startswith("st:") and ray.cluster_resources().get("GPU", 0) >= 1:
        return 1.0
    return 0.0


def ray_prepare(
    articles: Sequence[Article],
    embedder_spec: str,
    ray: Any,
    *,
    options: RayOptions | None = None,
    target: int,
    overlap: int,
    words: bool = True,
    expect: Embedder | None = None,
    embedder_factory: Callable[[], Embedder] | None = None,
) -> Iterator[list[PreparedArticle]]:
    """Prepare `articles` on Ray; yields batches of `PreparedArticle` as they arrive, in no
    particular order. `expect`: the index's embedder; a worker embedder with another name
    or dimension stops the run. `embedder_factory` replaces `embedder_spec` (tests)."""
    options = options or RayOptions()
    if not articles:
        return
    gpus = _gpus_per_actor(options, embedder_spec, ray)
    # the actors must leave room for the splitting tasks, or the pipeline waits forever
    # (2 actors of 1 CPU on a 2-CPU instance); the embedder's threads are not bound by this
    cpus = float(ray.cluster_resources().get("CPU", 1))
    actor_cpus = min(options.cpus_per_actor, (cpus - PLAN_CPUS) / max(1, options.actors))
    if actor_cpus <= 0:
        raise RayUnavailableError(
            f"the Ray cluster has {cpus:g} CPUs: too few for {options.actors} embedding actors "
            "and the splitting tasks; give fewer `--ray-actors` or add nodes"
        )
    blocks = max(1, min(len(articles) // max(1, options.batch_size), 4096))
    ds = ray.data.from_items([{"article": a} for a in articles], override_num_blocks=blocks)
    ds = ds.map_batches(
        _plan_batch,
        fn_kwargs={"target": target, "overlap": overlap, "words": words},
        batch_size=options.batch_size,
        num_cpus=PLAN_CPUS,
    )  # a task whose worker dies is retried (Ray Data's default for tasks)
    with warnings.catch_warnings():
        # Ray 2.60 names no replacement for passing max_restarts through map_batches
        warnings.filterwarnings("ignore", message=".*ray_remote_args.*deprecated")
        ds = ds.map_batches(
            EmbedActor,
            fn_constructor_kwargs={
                "spec": embedder_spec,
                "device": "cuda" if gpus else None,
                "factory": embedder_factory,
            },
            compute=ray.data.ActorPoolStrategy(size=options.actors),
            batch_size=options.batch_size,
            num_cpus=actor_cpus,
            num_gpus=gpus,
            # a killed actor is restarted and its batch retried; a finite number, so an
            # embedder that always crashes (e.g. out of memory) ends the run with an error
            max_restarts=options.max_restarts,
            max_task_retries=options.max_restarts,
        )
    for batch in ds.iter_batches(batch_size=options.commit_articles, batch_format="numpy"):
        out = []
        for plan, tokens, vectors, name in zip(
            batch["plan"], batch["tokens"], batch["vectors"], batch["embedder"], strict=True
        ):
            if expect is not None and (name != expect.name or vectors.shape[-1] != expect.dim):
                raise EmbedderMismatchError(
                    f"the Ray workers embed with {name} ({vectors.shape[-1]} dimensions) but the index "
                    f"uses {expect.name} ({expect.dim}); install the same embedder on every node"
                )
            out.append(finish(plan, vectors, tokens))
        yield out


# --------------------------------------------------------------------------- index


def ray_index(
    index: Any,
    paths: Sequence[str | Path],
    *,
    options: RayOptions | None = None,
    progress: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
    embedder_factory: Callable[[], Embedder] | None = None,
) -> RayIndexResult:
    """Index `paths` into `index` (a `rag.index.Index`, written only here, on this machine)
    with reading, splitting and embedding on Ray."""
    options = options or RayOptions()
    t0 = time.perf_counter()
    result = RayIndexResult(stats=AddStats())
    with ray_session(options) as ray:
        result.start_s = time.perf_counter() - t0
        try:
            read = ray_read(paths, ray)
            result.errors = read.errors
            result.articles = len(read.articles)
            todo, unchanged = index.pending(read.articles)
            result.sent = len(todo)
            logger.info(
                "%d articles read, %d unchanged, %d to embed on Ray", len(read.articles), unchanged, len(todo)
            )
            batches = ray_prepare(
                todo,
                index.embedder.name,
                ray,
                options=options,
                target=index.chunk_target,
                overlap=index.chunk_overlap,
                words=index.store_words,
                expect=index.embedder,
                embedder_factory=embedder_factory,
            )

            def timed() -> Iterator[list[PreparedArticle]]:
                for b in batches:
                    if result.first_batch_s is None:
                        result.first_batch_s = time.perf_counter() - t0
                    yield b

            result.stats = index.add_prepared(
                timed(),
                total=len(todo) + unchanged,
                skipped=unchanged,
                progress=progress,
                on_progress=on_progress,
            )
        except ray.exceptions.RayError as exc:
            raise RayUnavailableError(
                f"the Ray run failed: {_first_line(exc)}; every batch committed so far is kept: "
                "fix the cause and rerun the same command to index the rest"
            ) from exc
    result.total_s = time.perf_counter() - t0
    return result
