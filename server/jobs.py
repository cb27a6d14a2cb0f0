"""In-process background jobs (large uploads): one thread per job, progress and per-file errors.

A job runs in the worker process that accepted it. With a `shared_dir` (the server sets
one beside the index), every change of a job's state is also written there as
`<id>.json` (atomically; progress at most twice a second), so any worker process can
answer `GET /v1/jobs/{id}`; a job whose process died is reported failed. Whatever a job
committed to the index stays, whatever happens to its report.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.errors import ZhiwenError
from rag.records import AddStats, FileError
from server.errors import storage_error

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


PUBLISH_INTERVAL_S = 0.5


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class JobContext:
    """What a job's work function uses to report progress and per-file errors."""

    def __init__(self, registry: JobRegistry, job: Job) -> None:
        self._registry = registry
        self._job = job

    @property
    def job_id(self) -> str:
        return self._job.id

    def phase(self, name: str, total: int = 0) -> None:
        with self._registry.lock:
            self._job.phase = name
            self._job.done = 0
            self._job.total = total
        self._registry.publish(self._job)

    def progress(self, done: int, total: int) -> None:
        with self._registry.lock:
            self._job.done = done
            self._job.total = total
        self._registry.publish(self._job, throttle=True)

    def error(self, err: FileError) -> None:
        with self._registry.lock:
            self._job.errors.append(err)
        self._registry.publish(self._job, throttle=True)


Work = Callable[[JobContext], AddStats]


class JobRegistry:
    def __init__(
        self, on_finish: Callable[[Job], None] | None = None, shared_dir: Path | None = None
    ) -> None:
        self.lock = threading.Lock()
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._threads: dict[str, threading.Thread] = {}
        self._on_finish = on_finish
        self._shared = shared_dir
        self._published: dict[str, float] = {}
        if shared_dir is not None:
            shared_dir.mkdir(parents=True, exist_ok=True)

    def publish(self, job: Job, *, throttle: bool = False) -> None:
        """Write the job's state for the other worker processes (no-op without a shared dir)."""
        if self._shared is None:
            return
        now = time.monotonic()
        if throttle and now - self._published.get(job.id, 0.0) < PUBLISH_INTERVAL_S:
            return
        self._published[job.id] = now
        with self.lock:
            data = {**job.to_dict(), "pid": os.getpid()}
        tmp = self._shared / f".{job.id}.{os.getpid()}.tmp"
        try:
            tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, self._shared / f"{job.id}.json")
        except OSError as exc:  # a report that cannot be shared must not fail the job
            logger.warning("could not share the state of job %s: %s", job.id, exc)

    def _shared_job(self, job_id: str) -> dict[str, Any] | None:
        if self._shared is None or not job_id.isalnum():
            return None
        try:
            data: dict[str, Any] = json.loads((self._shared / f"{job_id}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        pid = data.pop("pid", None)
        if data.get("status") in ("queued", "running") and isinstance(pid, int) and not _pid_alive(pid):
            data["status"] = "failed"
            data["message"] = (
                "the server process running this job stopped; articles it committed stay indexed, "
                "so re-uploading the same files is safe"
            )
        return data

    def submit(self, kind: str, work: Work) -> Job:
        job = Job(id=uuid.uuid4().hex, kind=kind)
        thread = threading.Thread(
            target=self._run, args=(job, work), name=f"zhiwen-job-{job.id[:8]}", daemon=True
        )
        with self.lock:
            self._jobs[job.id] = job
            self._threads[job.id] = thread
            self._trim()
        self.publish(job)
        thread.start()
        return job

    def _run(self, job: Job, work: Work) -> None:
        with self.lock:
            job.status = "running"
            job.started = time.time()
        self.publish(job)
        ctx = JobContext(self, job)
        try:
            stats = work(ctx)
        except ZhiwenError as exc:
            logger.warning("job %s (%s) failed: %s", job.id, job.kind, exc.message)
            with self.lock:
                job.status = "failed"
                job.message = exc.message
        except Exception as exc:
            mapped = storage_error(exc)
            if mapped is not None:
                logger.error("job %s (%s) failed: %s (%s)", job.id, job.kind, mapped.code, exc)
            else:
                logger.exception("job %s (%s) failed", job.id, job.kind)
            with self.lock:
                job.status = "failed"
                job.message = (
                    mapped.message
                    if mapped is not None
                    else (
                        "internal error (see the server log); articles committed before the failure stay "
                        "indexed, so re-uploading the same files is safe"
                    )
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
            self.publish(job)
            if self._on_finish is not None:
                try:
                    self._on_finish(job)
                except Exception:  # metrics must never break a job
                    logger.exception("job %s: on_finish hook failed", job.id)

    def _trim(self) -> None:
        finished = [j.id for j in self._jobs.values() if j.status in ("succeeded", "failed")]
        for job_id in finished[: max(0, len(finished) - KEEP_FINISHED)]:
            del self._jobs[job_id]
            self._published.pop(job_id, None)
            if self._shared is not None:
                (self._shared / f"{job_id}.json").unlink(missing_ok=True)

    def get(self, job_id: str) -> dict[str, Any] | None:
        with self.lock:
            job = self._jobs.get(job_id)
            if job is not None:
                return job.to_dict()
        return self._shared_job(job_id)  # run by another worker process

    def list(self) -> list[dict[str, Any]]:
        """This process's jobs, then those other worker processes shared, newest first."""
        with self.lock:
            out = [j.to_dict() for j in reversed(self._jobs.values())]
        if self._shared is not None:
            mine = {j["id"] for j in out}
            for f in self._shared.glob("*.json"):
                if f.stem not in mine and (other := self._shared_job(f.stem)) is not None:
                    out.append(other)
            out.sort(key=lambda j: -float(j.get("created") or 0))
        return out[:KEEP_FINISHED]

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
