"""The HTTP service: `create_app` for tests and embedding, `run` for `zhiwen serve`."""

from __future__ import annotations

import logging
import os
import socket
import sys
from typing import TYPE_CHECKING, Any

from rag.settings import Settings

if TYPE_CHECKING:
    import uvicorn
    from fastapi import FastAPI


def create_app(*args: Any, **kwargs: Any) -> FastAPI:
    """`server.app.create_app`, imported when first called: `zhiwen serve --workers N` starts
    without loading the app (each worker imports it), so the workers start sooner."""
    from server.app import create_app as factory

    return factory(*args, **kwargs)


__all__ = ["can_fork", "create_app", "listening_socket", "native_threads", "run", "worker_environment"]

logger = logging.getLogger(__name__)


def run(settings: Settings) -> None:
    """Serve the API (and the web chat, when installed) on `settings.host:settings.port`.

    With `settings.workers` > 1, that many worker processes are forked from this one once it
    has loaded the app's modules and the segmenter's dictionary (`server.workers`; on Linux only,
    elsewhere uvicorn spawns them). Each maps the same index read-only (the pages are
    shared) and sees every committed generation. A new
    index is created (and the seeds indexed, on a fresh machine) once here first, so the
    workers never race to create it; writes from any worker take the index's writer lock."""
    import uvicorn

    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # startup news ("indexing seeds/ first", where the UI is) must show even when the CLI logs warnings only
    if logging.getLogger("server").getEffectiveLevel() > logging.INFO:
        logging.getLogger("server").setLevel(logging.INFO)
    logger.info(
        "starting zhiwen on http://%s:%d (index %s, %d worker(s))",
        settings.host,
        settings.port,
        settings.index,
        settings.workers,
    )
    if settings.workers <= 1:
        from server.app import create_app as factory

        uvicorn.run(factory(settings), host=settings.host, port=settings.port, log_level="info")
        return
    from server.workers import ForkedWorkers, enable_multiprocess, preload

    enable_multiprocess()  # before anything imports prometheus-client
    os.environ.update(worker_environment(settings))
    for name, value in native_threads(settings.workers).items():
        os.environ.setdefault(name, value)  # read by numpy/FAISS when their libraries load, below
    if not (settings.index / "store.sqlite").exists():  # a new index: create it (and seed it) once, here
        from server.app import open_index

        open_index(settings).close()
    config = uvicorn.Config(
        "server.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level="info",
    )
    if not can_fork():  # uvicorn's supervisor: each worker a fresh interpreter that loads everything
        from uvicorn.supervisors import Multiprocess

        Multiprocess(config, sockets=[listening_socket(config)]).run()
        return
    preload()  # once, here: the forked workers inherit it
    code = ForkedWorkers(config, listening_socket(config), settings.workers).run()
    if code:
        raise SystemExit(code)


def can_fork() -> bool:
    """Fork workers on Linux only: Windows has no fork, and on macOS a process that has loaded
    system frameworks (Accelerate, which numpy may use) is not safe to fork."""
    return sys.platform.startswith("linux") and hasattr(os, "fork")


def native_threads(workers: int) -> dict[str, str]:
    """BLAS/OpenMP threads per worker: the cores shared out (at least one). A question's
    matrix products are small; with the default (every core in every worker) a second
    thread doubled the CPU time of encoding a question without making it faster, and
    workers answering at once slowed each other down."""
    n = str(max(1, (os.cpu_count() or 1) // max(1, workers)))
    return {"OMP_NUM_THREADS": n, "OPENBLAS_NUM_THREADS": n, "MKL_NUM_THREADS": n}


def listening_socket(config: uvicorn.Config) -> socket.socket:
    """The socket the workers share, with TCP_NODELAY set (accepted connections inherit it).

    uvicorn binds it itself with protocol 0, on which asyncio does not set TCP_NODELAY for
    accepted connections; every response then waited for the client's delayed ACK (about
    40 ms per request, measured on /healthz: 44 ms with 2 workers, 1.2 ms with one)."""
    sock = config.bind_socket()
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def worker_environment(settings: Settings) -> dict[str, str]:
    """The environment the worker processes build their app from: every setting, with the
    process-wide limits shared out so that they hold for the whole server. Each worker gets
    1/N of the decompression budget (memory held by uploads being read) and a share of the
    upload job slots (rounded up, at least one: jobs queue for the one index writer anyway)."""
    n = settings.workers
    shared = settings.model_copy(
        update={
            "decompress_budget_mb": settings.decompress_budget_mb / n,
            "max_upload_jobs": max(1, -(-settings.max_upload_jobs // n)),
        }
    )
    env = {}
    for name, value in shared.model_dump(exclude_none=True).items():
        secret = getattr(value, "get_secret_value", None)
        env[f"ZHIWEN_{name.upper()}"] = str(secret() if secret else value)
    return env
