"""In-process background jobs (large uploads): one thread per job, progress and per-file errors.

Jobs live in memory: a restart forgets them, but never what they committed to the index.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rag.errors import ZhiwenError
from rag.records import AddStats, FileError

logger = logging.getLogger(__name__)

KEEP_FINISHED = 200


def file_error_dict(err: FileError) -> dict[str, Any]:
    return {"path": err.path, "line": err.line, "reason": err.reason}


def stats_dict(stats: AddStats, errors: list[FileError]) -> dict[str, Any]:
    return {
        "added": stats.added,
        "updated": stats.updated,
        "unchanged": stats.unchanged,
        "chunks": stats.chunks,
        "errors": [file_error_dict(e) for e in errors],
    }


@dataclass
class Job:
    id: str
    kind: str
    status: str = "queued"  # queued | running | succeeded | failed
    phase: str = "queued"  # parsing | indexing | done
    done: int = 0
    total: int = 0
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    stats: AddStats | None = None
    errors: list[FileError] = field(default_factory=list)
    message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "phase": self.phase,
            "done": self.done,
            "total": self.total,
            "created": self.created,
            "started": self.started,
            "finished": self.finished,
            "result": stats_dict(self.stats, self.errors) if self.stats is not None else None,
            "errors": [file_error_dict(e) for e in self.errors],
            "message": self.message,
        }


class JobContext:
    """What a job's work function uses to report progress and per-file errors."""

    def __init__(self, registry: JobRegistry, job: Job) -> None:
        self._registry = registry
        self._job = job

    def phase(self, name: str, total: int = 0) -> None:
        with self._registry.lock:
            self._job.phase = name
            self._job.done = 0
            self._job.total = total

    def progress(self, done: int, total: int) -> None:
        with self._registry.lock:
            self._job.done = done
            self._job.total = total

    def error(self, err: FileError) -> None:
        with self._registry.lock:
            self._job.errors.append(err)


Work = Callable[[JobContext], AddStats]


class JobRegistry:
    def __init__(self, on_finish: Callable[[Job], None] | None = None) -> None:
        self.lock = threading.Lock()
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._threads: dict[str, threading.Thread] = {}
        self._on_finish = on_finish

    def submit(self, kind: str, work: Work) -> Job:
        job = Job(id=uuid.uuid4().hex, kind=kind)
        thread = threading.Thread(
            target=self._run, args=(job, work), name=f"zhiwen-job-{job.id[:8]}", daemon=True
        )
        with self.lock:
            self._jobs[job.id] = job
            self._threads[job.id] = thread
            self._trim()
        thread.start()
        return job

    def _run(self, job: Job, work: Work) -> None:
        with self.lock:
            job.status = "running"
            job.started = time.time()
        ctx = JobContext(self, job)
        try:
            stats = work(ctx)
        except ZhiwenError as exc:
            logger.warning("job %s (%s) failed: %s", job.id, job.kind, exc.message)
            with self.lock:
                job.status = "failed"
                job.message = exc.message
        except Exception:
            logger.exception("job %s (%s) failed", job.id, job.kind)
            with self.lock:
                job.status = "failed"
                job.message = (
                    "internal error (see the server log); articles committed before the failure stay "
                    "indexed, so re-uploading the same files is safe"
                )
        else:
            with self.lock:
                job.status = "succeeded"
                job.stats = stats
                job.phase = "done"
        finally:
            with self.lock:
                job.finished = time.time()
                self._threads.pop(job.id, None)
            if self._on_finish is not None:
                try:
                    self._on_finish(job)
                except Exception:  # metrics must never break a job
                    logger.exception("job %s: on_finish hook failed", job.id)

    def _trim(self) -> None:
        finished = [j.id for j in self._jobs.values() if j.status in ("succeeded", "failed")]
        for job_id in finished[: max(0, len(finished) - KEEP_FINISHED)]:
            del self._jobs[job_id]

    def get(self, job_id: str) -> dict[str, Any] | None:
        with self.lock:
            job = self._jobs.get(job_id)
            return job.to_dict() if job is not None else None

    def list(self) -> list[dict[str, Any]]:
        with self.lock:
            return [j.to_dict() for j in reversed(self._jobs.values())]

    def counts(self) -> dict[str, int]:
        out = {"queued": 0, "running": 0, "succeeded": 0, "failed": 0}
        with self.lock:
            for job in self._jobs.values():
                out[job.status] = out.get(job.status, 0) + 1
        return out

    def wait(self, timeout: float) -> bool:
        """Wait for running jobs (at shutdown); True if all finished in time."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                threads = list(self._threads.values())
            if not threads:
                return True
            for thread in threads:
                thread.join(max(0.0, deadline - time.monotonic()))
            if time.monotonic() >= deadline:
                with self.lock:
                    return not self._threads
