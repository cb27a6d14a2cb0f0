"""The one service layer of the HTTP routes and the web chat: the write-key check, uploads
(parsed within the ingest limits, indexed at once or as a background job), deletes and
questions. Both `server.routers` and `ui.app` call it, so a rule (a limit, the key, the
write gate) exists once.

Writes never stall reads: the index takes one writer at a time, so a write that cannot
start at once is answered 503 with `Retry-After` (never parked on a request worker), and
background upload jobs wait for the writer in their own thread. At most
`settings.max_upload_jobs` upload jobs run at once; every parse shares the process-wide
decompression budget (`rag.ingest.IngestLimits`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from rag import Index, ask, parse_bytes, parse_records, search
from rag.errors import IndexLockedError, InputError
from rag.ingest import SUPPORTED_TYPES, IngestLimits, supported
from rag.records import AddStats, Answer, Article, FileError, Filters, Hit, Turn
from rag.settings import Settings
from server.errors import ApiError
from server.jobs import Job, JobContext, JobRegistry, file_error_dict

logger = logging.getLogger(__name__)

RETRY_AFTER_S = 5
SLOT_WAIT_S = 30.0  # how long an upload request waits (on the event loop) for a job slot
PARSE_WAIT_S = 15.0  # how long it waits for its files to be read, to refuse bad ones at once
JOB_LOCK_WAIT_S = 600.0  # how long a job waits for another process's writer lock
WAITING_PER_SLOT = 4  # uploads that may wait for a slot, per slot (their bodies are in memory)


# ---------------------------------------------------------------- the write key


def writes_enabled(settings: Settings) -> bool:
    return bool(settings.api_key is not None and settings.api_key.get_secret_value())


def check_key(settings: Settings, given: str | None) -> None:
    """Writes need the server's ZHIWEN_API_KEY (compared in constant time, never logged);
    with no key configured they are refused. Raises ApiError 403/401."""
    key = settings.api_key.get_secret_value() if settings.api_key is not None else ""
    if not key:
        raise ApiError(
            403,
            "writes_disabled",
            "writes are disabled because no API key is configured; start the server with "
            "ZHIWEN_API_KEY=<secret> in its environment and send `Authorization: Bearer <secret>`",
        )
    if not given:
        raise ApiError(
            401,
            "unauthorized",
            "this needs the server's ZHIWEN_API_KEY: send `Authorization: Bearer <key>` "
            "(in the web chat, type it into the API key box)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not hmac.compare_digest(given.encode("utf-8", "surrogatepass"), key.encode("utf-8", "surrogatepass")):
        raise ApiError(
            401,
            "unauthorized",
            "the key is wrong; send the server's ZHIWEN_API_KEY as `Authorization: Bearer <key>`",
            headers={"WWW-Authenticate": "Bearer"},
        )


# ---------------------------------------------------------------- questions


def check_question(text: str, settings: Settings, *, field: str = "question") -> str:
    """Refuse empty and over-long questions with a message saying what to send."""
    if not text.strip():
        raise ApiError(422, "invalid_input", f"`{field}` is empty; send the question text (问题不能为空)")
    limit = settings.max_question_chars
    if len(text) > limit:
        raise ApiError(
            422,
            "invalid_input",
            f"`{field}` has {len(text)} characters; the limit is {limit}. Shorten it "
            "(the server's limit is set by ZHIWEN_MAX_QUESTION_CHARS)",
        )
    return text


def check_top_k(top_k: int, settings: Settings) -> int:
    if not 1 <= top_k <= settings.max_top_k:
        raise ApiError(
            422,
            "invalid_request",
            f"`top_k` is {top_k}; this server allows 1..{settings.max_top_k} (ZHIWEN_MAX_TOP_K)",
        )
    return top_k


# ---------------------------------------------------------------- uploads


@dataclass
class Upload:
    """What one upload carries: JSON records or files (name, bytes), and its size in bytes."""

    size: int
    files: list[tuple[str, bytes]] = field(default_factory=list)
    records: list[dict[str, Any]] | None = None


@dataclass
class Parsed:
    articles: list[Article] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)  # per file without articles: unsupported | invalid


def unsupported_reason() -> str:
    return f"unsupported file type; upload {SUPPORTED_TYPES} files"


class Service:
    """Upload, delete and ask over the app's index, with one write gate and job cap."""

    def __init__(
        self,
        settings: Settings,
        jobs: JobRegistry,
        on_added: Callable[[int], object] | None = None,
    ) -> None:
        self.settings = settings
        self.jobs = jobs
        self.limits = IngestLimits.from_settings(settings, shared=True)
        self._on_added = on_added
        self._write = threading.Lock()
        self._job_slots = threading.BoundedSemaphore(settings.max_upload_jobs)
        # questions worked on at once (see Settings.answer_slots); the others wait in their
        # request threads, first come first served
        self._answer_slots = threading.BoundedSemaphore(settings.answer_slots)
        self._waiting = 0
        self._refusals: dict[str, ApiError] = {}  # job id -> why its upload held nothing usable

    # -- the write gate

    @contextlib.contextmanager
    def writing(self, *, wait: bool = False) -> Iterator[None]:
        """Hold the one writer slot; without `wait`, answer 503 at once when it is taken."""
        if not self._write.acquire(blocking=wait):
            raise busy("another write (an upload being indexed, or a delete) is under way")
        try:
            yield
        finally:
            self._write.release()

    # -- parsing

    def parse(self, upload: Upload, ctx: JobContext | None = None) -> Parsed:
        out = Parsed()
        if upload.records is not None:
            result = parse_records(upload.records, "request")
            out.articles.extend(result.articles)
            out.errors.extend(result.errors)
            if not result.articles:
                out.kinds.append("invalid")
            return out
        if ctx is not None:
            ctx.phase("parsing", total=len(upload.files))
        for i, (name, data) in enumerate(upload.files):
            n_errors = len(out.errors)
            if not supported(name):
                out.errors.append(FileError(name or "(unnamed file)", unsupported_reason()))
                out.kinds.append("unsupported")
            else:
                result = parse_bytes(name, data, limits=self.limits)
                out.articles.extend(result.articles)
                out.errors.extend(result.errors)
                if not result.articles:
                    out.kinds.append("invalid")
            if ctx is not None:
                for err in out.errors[n_errors:]:
                    ctx.error(err)
                ctx.progress(i + 1, len(upload.files))
        return out

    # -- adding

    def add_now(self, index: Index, upload: Upload) -> tuple[AddStats, list[FileError]]:
        """Parse and index a small upload in the calling (worker) thread."""
        parsed = self.parse(upload)
        refuse_if_empty(parsed)
        with self.writing():
            stats = index.add(parsed.articles)
        self._added(stats, len(parsed.errors), "upload")
        return stats, parsed.errors

    def submit(self, index: Index, upload: Upload, *, origin: str = "upload") -> Job:
        """Run a large upload as a background job; 503 when `max_upload_jobs` already run."""
        if not self._job_slots.acquire(blocking=False):
            raise busy(
                f"{self.settings.max_upload_jobs} upload job(s) are already running (ZHIWEN_MAX_UPLOAD_JOBS)"
            )

        def work(ctx: JobContext) -> AddStats:
            try:
                parsed = self.parse(upload, ctx)
                upload.files.clear()  # the raw bytes are no longer needed
                try:
                    refuse_if_empty(parsed)
                except ApiError as exc:
                    self._refusals[ctx.job_id] = exc
                    if len(self._refusals) > 200:
                        self._refusals.pop(next(iter(self._refusals)))
                    raise InputError(exc.message) from None
                ctx.phase("indexing", total=len(parsed.articles))
                with self.writing(wait=True):  # a job thread may wait; a request worker never does
                    stats = _add_when_unlocked(index, parsed.articles, ctx)
                self._added(stats, len(parsed.errors), origin)
                return stats
            finally:
                self._job_slots.release()

        try:
            return self.jobs.submit("upload", work)
        except BaseException:
            self._job_slots.release()
            raise

    async def submit_waiting(self, index: Index, upload: Upload) -> Job:
        """`submit`, waiting (without a worker thread) up to SLOT_WAIT_S for a job slot, so a
        burst of uploads is queued rather than refused; a longer queue is refused with 503."""
        limit = WAITING_PER_SLOT * self.settings.max_upload_jobs
        if self._waiting >= limit:
            raise busy(
                f"{limit} uploads are already waiting for the {self.settings.max_upload_jobs} job slot(s)"
            )
        self._waiting += 1
        try:
            deadline = asyncio.get_running_loop().time() + SLOT_WAIT_S
            while True:
                try:
                    return self.submit(index, upload)
                except ApiError:
                    if asyncio.get_running_loop().time() >= deadline:
                        raise
                await asyncio.sleep(0.05)
        finally:
            self._waiting -= 1

    async def settle(self, job: Job) -> dict[str, Any] | None:
        """Wait (on the event loop) up to PARSE_WAIT_S while the job reads its files; an upload
        holding nothing usable (a bomb, binary, all lines bad) is then refused with its own
        4xx error rather than a 202 for a job that will fail. Returns the job's state."""
        deadline = asyncio.get_running_loop().time() + PARSE_WAIT_S
        while True:
            state = self.jobs.get(job.id)
            if state is None:
                return None
            if state["status"] == "failed":
                refusal = self._refusals.pop(job.id, None)
                if refusal is not None:
                    raise refusal
                return state
            if state["phase"] not in ("queued", "parsing") or state["status"] == "succeeded":
                return state
            if asyncio.get_running_loop().time() >= deadline:
                return state
            await asyncio.sleep(0.05)

    def _added(self, stats: AddStats, n_errors: int, origin: str) -> None:
        if self._on_added is not None:
            self._on_added(stats.added + stats.updated)
        logger.info(
            "%s: %d added, %d updated, %d unchanged, %d errors",
            origin,
            stats.added,
            stats.updated,
            stats.unchanged,
            n_errors,
        )

    # -- deleting

    def delete(self, index: Index, article_id: str) -> int:
        check_id(article_id)
        with self.writing():
            n = index.delete(article_id)
        logger.info("deleted article %s", article_id)
        return n

    # -- asking

    def ask(
        self,
        index: Index,
        question: str,
        *,
        top_k: int = 5,
        filters: Filters | None = None,
        history: Sequence[Turn] = (),
        llm: Any = None,
        field: str = "question",
    ) -> Answer:
        question = check_question(question, self.settings, field=field)
        top_k = check_top_k(top_k, self.settings)
        if llm is not None:  # most of its time is the LLM's reply, waited for on the network
            return ask(index, question, top_k=top_k, filters=filters, history=list(history), llm=llm)
        with self._answer_slots:
            return ask(index, question, top_k=top_k, filters=filters, history=list(history))

    def search(
        self, index: Index, query: str, *, top_k: int = 10, filters: Filters | None = None
    ) -> list[Hit]:
        query = check_question(query, self.settings, field="query")
        top_k = check_top_k(top_k, self.settings)
        with self._answer_slots:
            return search(index, query, top_k=top_k, filters=filters)


def _add_when_unlocked(index: Index, articles: list[Article], ctx: JobContext) -> AddStats:
    """`index.add`, waiting while another process (another server worker's job, or a CLI run)
    holds the index's writer lock: a job thread may wait, up to JOB_LOCK_WAIT_S. Re-adding is
    safe: batches committed before the wait are unchanged and skipped."""
    deadline = time.monotonic() + JOB_LOCK_WAIT_S
    while True:
        try:
            return index.add(articles, on_progress=ctx.progress)
        except IndexLockedError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(1.0)


def check_id(article_id: str) -> str:
    from rag.ingest import MAX_ID_CHARS

    if not article_id:
        raise ApiError(422, "invalid_request", "the article id is empty; give the id of an article")
    if len(article_id) > MAX_ID_CHARS:
        raise ApiError(
            422,
            "invalid_request",
            f"the article id has {len(article_id)} characters; ids have at most {MAX_ID_CHARS}",
        )
    return article_id


def busy(what: str) -> ApiError:
    return ApiError(
        503,
        "busy",
        f"{what}; retry in {RETRY_AFTER_S} s (reads are not affected)",
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def refuse_if_empty(parsed: Parsed) -> None:
    """Nothing usable: say why, with every per-file/per-line error in `details`."""
    if parsed.articles:
        return
    details = [file_error_dict(e) for e in parsed.errors]
    first = "; ".join(
        e.reason
        if e.reason.startswith(e.path)
        else f"{e.path}{f' line {e.line}' if e.line else ''}: {e.reason}"
        for e in parsed.errors[:3]
    )
    if parsed.kinds and all(k == "unsupported" for k in parsed.kinds):
        raise ApiError(415, "unsupported_upload", f"nothing was ingested: {first}", details=details)
    if not parsed.errors:
        raise ApiError(
            422, "invalid_input", "nothing was ingested: the upload holds no articles (empty files?)"
        )
    status = 413 if any(_over_limit(e.reason) for e in parsed.errors) else 422
    raise ApiError(
        status,
        "too_large" if status == 413 else "invalid_upload",
        f"nothing was ingested: {first}" + (" (more in `details`)" if len(parsed.errors) > 3 else ""),
        details=details,
    )


def _over_limit(reason: str) -> bool:
    return any(
        s in reason
        for s in (
            "after decompression",
            "longer than",
            "ZHIWEN_DECOMPRESS_BUDGET_MB",
            "-byte limit",
            "character limit",
        )
    )
