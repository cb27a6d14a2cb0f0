"""Worker processes for `zhiwen serve --workers N`, forked from a parent that has already
loaded what every worker needs.

uvicorn's own supervisor spawns each worker as a fresh interpreter, so every worker imports
FastAPI, numpy and the app again and loads the segmenter's dictionary and models again,
all at the same time on the same cores. Here the parent does that once (`preload`) and then
forks the workers: each starts with it in memory (its pages shared copy-on-write) and only
opens the index and builds its app.

The parent then only supervises: SIGINT/SIGTERM stop every worker (gracefully, then by
force), SIGHUP replaces them one at a time (a new worker first loads the index and says it is
ready, then the one it replaces is stopped gracefully, so the server never stops answering;
if a new worker cannot start, the running ones are kept), a worker that dies is started
again, and a worker whose app fails to start at launch stops the whole server with uvicorn's
startup-failure code. Linux only (`server.can_fork`)."""

from __future__ import annotations

import gc
import logging
import os
import select
import signal
import socket
import sys
import time
from types import FrameType
from typing import TYPE_CHECKING

from uvicorn.config import STARTUP_FAILURE  # the exit code of an app that could not start

if TYPE_CHECKING:
    import uvicorn

logger = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
STOP_GRACE_S = 30.0  # how long stopping workers may finish their requests before SIGKILL
READY_TIMEOUT_S = 300.0  # how long a replacement worker may take to load before SIGHUP gives up
# how long a stopping worker, no longer accepting, lets the connections it has just accepted
# deliver their request before it closes the idle ones (see `serve_one`)
ACCEPTED_GRACE_S = 0.2


def enable_multiprocess() -> str:
    """Point prometheus-client at a fresh shared directory. Call it before prometheus-client
    is imported in this process: it picks its value class (in-process or file-backed) at
    import, and forked workers inherit that choice."""
    import tempfile

    if "prometheus_client" in sys.modules:
        raise RuntimeError(
            "prometheus_client was imported before the metrics directory was set; the workers "
            "would count in private memory. Call enable_multiprocess() first."
        )
    folder = tempfile.mkdtemp(prefix="zhiwen-metrics-")
    os.environ[MULTIPROC_ENV] = folder
    return folder


def preload() -> None:
    """Import the app's modules and load the segmenter's and the tagger's dictionary and HMMs
    and the answer policy (with its span trees and their compiled walk, and the ranker's
    compiled wording features), once, before forking."""
    import server.app  # noqa: F401  (the import is the point: the workers inherit it)
    from rag.answer import Policy
    from rag.answer.wording import warm_up as wording_warm_up
    from rag.postag import warm_up
    from rag.trees import warm_up as trees_warm_up

    warm_up()
    Policy.load()
    trees_warm_up()
    wording_warm_up()


class ForkedWorkers:
    """Runs `workers` uvicorn servers in forked children, all accepting on `sock`."""

    def __init__(self, config: uvicorn.Config, sock: socket.socket, workers: int) -> None:
        self.config = config
        self.sock = sock
        self.workers = workers
        self.children: dict[int, int] = {}  # pid -> worker number
        self.ready_pipes: dict[int, int] = {}  # pid -> read end of the pipe it says "ready" on
        self.retiring: set[int] = set()  # replaced workers, stopping: not started again
        self.replacing: set[int] = set()  # new workers of a SIGHUP, not yet ready
        self.stopping = False
        self.restarting = False
        self.exit_code = 0
        self.parent = os.getpid()

    def run(self) -> int:
        """Start the workers and supervise them until a stop signal; returns the exit code."""
        previous = {sig: signal.signal(sig, self._on_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, self._on_restart)
        # what was loaded so far stays out of the collector's sight: a collection in a worker
        # would otherwise write to (and so copy) every page holding those objects
        gc.freeze()
        try:
            for n in range(self.workers):
                self._start(n)
            while not self.stopping:
                if self.restarting:
                    self.restarting = False
                    self._replace_all()
                self._reap(restart=True)
                time.sleep(0.2)
            self._stop_all()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return self.exit_code

    def _on_stop(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True

    def _on_restart(self, signum: int, frame: FrameType | None) -> None:
        self.restarting = True

    def _replace_all(self) -> None:
        """SIGHUP: replace the workers one at a time, each only once its successor is ready."""
        logger.info("SIGHUP: replacing the workers one at a time")
        for old, n in list(self.children.items()):
            if self.stopping or old in self.retiring or old in self.replacing:
                continue
            new = self._start(n)
            self.replacing.add(new)
            if not self._wait_ready(new):
                if new in self.children:  # still loading, or exited and not reaped yet: it
                    _signal(new, signal.SIGKILL)  # stays in `replacing` until reaped, not restarted
                if not self.stopping:
                    logger.error(
                        "SIGHUP: the new worker %d did not become ready; the running workers are kept", n
                    )
                return
            self.replacing.discard(new)
            logger.info("worker %d: pid %d is ready; stopping pid %d", n, new, old)
            self.retiring.add(old)
            # it finishes its requests while the new one takes new ones; waited for, so there
            # is one extra worker at a time, never more
            self._stop([old], restart=not self.stopping)

    def _wait_ready(self, pid: int) -> bool:
        """Wait until worker `pid` says it is ready; False when it exits first, when the server
        is stopping or after READY_TIMEOUT_S."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        fd = self.ready_pipes[pid]
        while not self.stopping and time.monotonic() < deadline:
            try:
                readable, _, _ = select.select([fd], [], [], 0.2)
            except InterruptedError:  # a signal arrived
                continue
            if readable:
                return os.read(fd, 1) == b"r"  # b"" when it exited without being ready
            self._reap(restart=True)
            if pid not in self.children:
                return False
        return False

    def _start(self, n: int) -> int:
        ready_read, ready_write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker
            code = 1
            try:
                os.close(ready_read)
                for fd in self.ready_pipes.values():
                    os.close(fd)
                for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                    signal.signal(sig, signal.SIG_DFL)  # uvicorn installs its own while serving
                stop_with_parent(self.parent)
                code = serve_one(self.config, self.sock, ready_write)
            except SystemExit as stop:
                code = stop.code if isinstance(stop.code, int) else 1
            except BaseException:  # a worker must never return into the supervisor's loop
                logger.exception("worker %d failed", n)
            finally:
                logging.shutdown()
                os._exit(code)
        os.close(ready_write)
        self.children[pid] = n
        self.ready_pipes[pid] = ready_read
        logger.info("started worker %d (pid %d)", n, pid)
        return pid

    def _reap(self, restart: bool) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                self.children.clear()
                return
            if pid == 0:
                return
            n = self.children.pop(pid, None)
            if n is None:
                continue
            os.close(self.ready_pipes.pop(pid))
            code = os.waitstatus_to_exitcode(status)
            if pid in self.retiring:
                self.retiring.discard(pid)
                logger.info("worker %d (pid %d) stopped (replaced)", n, pid)
            elif pid in self.replacing:
                self.replacing.discard(pid)
                logger.error("worker %d: the new pid %d exited with %d before it was ready", n, pid, code)
            elif code == STARTUP_FAILURE:
                logger.error("worker %d (pid %d) could not start its app; stopping the server", n, pid)
                self.exit_code = STARTUP_FAILURE
                self.stopping = True
            elif restart and not self.stopping:
                logger.warning("worker %d (pid %d) exited with %d; starting it again", n, pid, code)
                self._start(n)

    def _stop_all(self) -> None:
        self._stop(list(self.children), restart=False)
        self.children.clear()

    def _stop(self, pids: list[int], restart: bool) -> None:
        """SIGTERM `pids`, give them STOP_GRACE_S to finish their requests, then SIGKILL."""
        for pid in pids:
            _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        while any(pid in self.children for pid in pids) and time.monotonic() < deadline:
            self._reap(restart=restart)
            time.sleep(0.05)
        for pid in [pid for pid in pids if pid in self.children]:
            logger.warning("worker pid %d did not stop in %.0f s; killing it", pid, STOP_GRACE_S)
            _signal(pid, signal.SIGKILL)
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
            del self.children[pid]
            os.close(self.ready_pipes.pop(pid))
            self.retiring.discard(pid)


def serve_one(config: uvicorn.Config, sock: socket.socket, ready_fd: int | None = None) -> int:
    """One worker: build the app (in this process) and serve on the shared socket. Once the
    app has started (its lifespan has opened the index) it writes b"r" to `ready_fd`."""
    import asyncio

    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started and ready_fd is not None:
                os.write(ready_fd, b"r")

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            # uvicorn closes every connection without a request in progress at once, among
            # them one accepted a moment ago whose request is not read yet: its client got a
            # reset during a rolling restart. Stop accepting first (the other workers take
            # new connections from the shared socket), let those requests arrive, then stop.
            for server in self.servers:
                server.close()
            await asyncio.sleep(ACCEPTED_GRACE_S)
            await super().shutdown(sockets=sockets)

    server = Server(config)
    server.run(sockets=[sock])
    return 0 if server.started else STARTUP_FAILURE


def stop_with_parent(parent: int) -> None:
    """Have the kernel send this worker SIGTERM when the supervisor dies, even by SIGKILL:
    an orphaned worker would keep the port, and a restarted server could not bind it."""
    import ctypes

    pr_set_pdeathsig = 1
    try:
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the supervisor's own stop still applies
        return
    if os.getppid() != parent:  # it died before the request was in place
        os.kill(os.getpid(), signal.SIGTERM)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
