"""Article management: list, read, add (JSON or file upload), delete; background ingest jobs."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from copy import deepcopy
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Message

from rag import Index, parse_bytes, parse_records
from rag.errors import InputError
from rag.records import AddStats, Article, FileError
from rag.settings import Settings
from server.deps import IndexDep, JobsDep, SettingsDep, WriteAuth
from server.errors import ApiError, SafeJSONResponse, validation_message
from server.jobs import JobContext, file_error_dict, stats_dict
from server.schemas import (
    AddResult,
    ArticleOut,
    ArticlePage,
    ArticlesIn,
    Deleted,
    ErrorOut,
    JobAccepted,
    JobOut,
    iso_date,
)

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1", tags=["articles"])

SUPPORTED_SUFFIXES = (".txt", ".md", ".json", ".jsonl", ".jsonl.gz")
MAX_FILES = 100


# ---------------------------------------------------------------- reading


def _summary(a: Article) -> dict[str, Any]:
    return {
        "id": a.id,
        "title": a.title,
        "published": a.published,
        "source": a.source,
        "url": a.url,
        "parent_id": a.parent_id,
        "chars": len(a.text),
    }


def _check_date(name: str, value: str | None) -> str | None:
    try:
        return iso_date(value)
    except ValueError as exc:
        raise ApiError(422, "invalid_request", f"query field `{name}`: {exc}") from exc


@router.get(
    "/articles",
    summary="文章列表，可按来源和日期过滤 (list articles)",
    response_model=ArticlePage,
    responses={422: {"model": ErrorOut}},
)
def list_articles(
    index: IndexDep,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="skip this many")] = 0,
    limit: Annotated[int, Query(ge=1, le=200, description="page size (1..200)")] = 50,
    source: Annotated[str | None, Query(max_length=500, description="outlet, e.g. 华夏经纬网")] = None,
    since: Annotated[str | None, Query(max_length=40, description="published on/after, YYYY-MM-DD")] = None,
    until: Annotated[str | None, Query(max_length=40, description="published on/before, YYYY-MM-DD")] = None,
    q: Annotated[str | None, Query(max_length=200, description="words in the title, e.g. 全会")] = None,
) -> SafeJSONResponse:
    since = _check_date("since", since)
    until = _check_date("until", until)
    items, total = index.list_articles(
        offset=offset, limit=limit, source=source or None, since=since, until=until, q=q or None
    )
    return SafeJSONResponse(
        {"total": total, "offset": offset, "limit": limit, "items": [_summary(a) for a in items]}
    )


ArticleId = Annotated[str, Path(min_length=1, max_length=500, description="article id")]


@router.get(
    "/articles/{article_id:path}",
    summary="文章元数据与正文（引用偏移所指的文本） (one article)",
    response_model=ArticleOut,
    responses={404: {"model": ErrorOut}},
)
def get_article(article_id: ArticleId, index: IndexDep) -> SafeJSONResponse:
    article = index.get_article(article_id)
    return SafeJSONResponse({**_summary(article), "text": article.text})


@router.delete(
    "/articles/{article_id:path}",
    summary="删除文章（需要 API key） (delete an article)",
    dependencies=[WriteAuth],
    response_model=Deleted,
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut}},
)
def delete_article(article_id: ArticleId, index: IndexDep) -> SafeJSONResponse:
    index.delete(article_id)
    logger.info("deleted article %s", article_id)
    return SafeJSONResponse({"deleted": article_id})


# ---------------------------------------------------------------- jobs


@router.get("/jobs", summary="后台导入任务列表 (recent ingest jobs)", response_model=list[JobOut])
def list_jobs(jobs: JobsDep) -> SafeJSONResponse:
    return SafeJSONResponse(jobs.list())


@router.get(
    "/jobs/{job_id}",
    summary="后台导入任务进度与逐文件错误 (ingest job progress)",
    response_model=JobOut,
    responses={404: {"model": ErrorOut}},
)
def get_job(job_id: Annotated[str, Path(max_length=100)], jobs: JobsDep) -> SafeJSONResponse:
    job = jobs.get(job_id)
    if job is None:
        raise ApiError(
            404,
            "not_found",
            f"no job {job_id!r}; jobs are kept in memory until the server restarts (GET /v1/jobs lists them)",
        )
    return SafeJSONResponse(job)


# ---------------------------------------------------------------- adding


@dataclass
class Upload:
    """What one POST carries: JSON records or files, and its size in bytes."""

    size: int
    files: list[tuple[str, bytes]] = field(default_factory=list)
    records: list[dict[str, Any]] | None = None


def _limited(
    receive: Callable[[], Awaitable[Message]], limit: int, mb: float
) -> Callable[[], Awaitable[Message]]:
    """Wrap `receive` so the body is refused (413) as soon as it passes `limit` bytes."""
    total = 0

    async def wrapped() -> Message:
        nonlocal total
        message = await receive()
        if message["type"] == "http.request":
            total += len(message.get("body", b""))
            if total > limit:
                raise _too_large(mb)
        return message

    return wrapped


def _too_large(mb: float) -> ApiError:
    return ApiError(
        413,
        "too_large",
        f"the upload is over the {mb:g} MB limit; split it into smaller files "
        "(the limit is set by ZHIWEN_MAX_UPLOAD_MB)",
    )


@dataclass
class Parsed:
    articles: list[Article] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)  # per file without articles: unsupported | invalid


def _parse_file(name: str, data: bytes, settings: Settings, out: Parsed) -> None:
    if not name.lower().endswith(SUPPORTED_SUFFIXES):
        shown = name or "(unnamed file)"
        out.errors.append(
            FileError(shown, "unsupported file type; upload .txt, .md, .json, .jsonl or .jsonl.gz files")
        )
        out.kinds.append("unsupported")
        return
    result = parse_bytes(name, data, max_bytes=int(settings.max_upload_mb * (1 << 20)))
    out.articles.extend(result.articles)
    out.errors.extend(result.errors)
    if not result.articles:
        out.kinds.append("invalid")


def _parse_upload(upload: Upload, settings: Settings, ctx: JobContext | None = None) -> Parsed:
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
        _parse_file(name, data, settings, out)
        if ctx is not None:
            for err in out.errors[n_errors:]:
                ctx.error(err)
            ctx.progress(i + 1, len(upload.files))
    return out


def _refuse_if_empty(parsed: Parsed) -> None:
    """Nothing usable: say why, with every per-file/per-line error in `details`."""
    if parsed.articles:
        return
    details = [file_error_dict(e) for e in parsed.errors]
    first = "; ".join(
        e.reason if e.reason.startswith(e.path) else f"{e.path}: {e.reason}" for e in parsed.errors[:3]
    )
    if parsed.kinds and all(k == "unsupported" for k in parsed.kinds):
        raise ApiError(415, "unsupported_upload", f"nothing was ingested: {first}", details=details)
    if not parsed.errors:
        raise ApiError(
            422, "invalid_input", "nothing was ingested: the upload holds no articles (empty files?)"
        )
    raise ApiError(
        422,
        "invalid_upload",
        f"nothing was ingested: {first}" + (" (more in `details`)" if len(parsed.errors) > 3 else ""),
        details=details,
    )


def _ingest(index: Index, upload: Upload, settings: Settings) -> tuple[AddStats, list[FileError]]:
    parsed = _parse_upload(upload, settings)
    _refuse_if_empty(parsed)
    stats = index.add(parsed.articles)
    return stats, parsed.errors


async def _read_upload(request: Request, settings: Settings) -> Upload:
    limit = int(settings.max_upload_mb * (1 << 20))
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise _too_large(settings.max_upload_mb)
    limited = Request(request.scope, _limited(request.receive, limit, settings.max_upload_mb))
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/json" or ctype.endswith("+json"):
        raw = await limited.body()
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError(
                422,
                "invalid_json",
                f"the request body is not valid JSON ({exc}); send "
                '`{"articles": [{"title": ..., "text": ...}]}` with `Content-Type: application/json`',
            ) from exc
        try:
            body = ArticlesIn.model_validate(data)
        except ValidationError as exc:
            errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
            code, message = validation_message(errors)
            raise ApiError(422, code, message) from exc
        records = [a.model_dump(exclude_none=True) for a in body.articles]
        return Upload(size=len(raw), records=records)
    if ctype == "multipart/form-data":
        try:
            form = await limited.form(max_files=MAX_FILES, max_fields=MAX_FILES)
        except StarletteHTTPException as exc:
            raise ApiError(
                400,
                "invalid_multipart",
                f"the multipart body could not be read ({exc.detail}); send the files in the form field `files`",
            ) from exc
        try:
            items = form.getlist("files")
            files: list[tuple[str, bytes]] = []
            for item in items:
                if not isinstance(item, UploadFile):
                    raise ApiError(
                        422,
                        "invalid_request",
                        "form field `files` must carry files, not text; upload .txt/.jsonl/.jsonl.gz files",
                    )
                files.append((item.filename or "", await item.read()))
        finally:
            await form.close()
        if not files:
            raise ApiError(
                422,
                "invalid_request",
                "no files in the form field `files`; send one or more .txt, .md, .jsonl or .jsonl.gz files",
            )
        return Upload(size=sum(len(d) for _, d in files), files=files)
    raise ApiError(
        415,
        "unsupported_media_type",
        'send either JSON (`Content-Type: application/json`, body `{"articles": [...]}`) or '
        "multipart/form-data with files in the field `files`",
    )


def _inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """A pydantic JSON schema with its `$defs` inlined (for use inside `openapi_extra`)."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return walk(deepcopy(defs[ref.rsplit("/", 1)[-1]]))
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    result: dict[str, Any] = walk(schema)
    return result


_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": _inline_refs(ArticlesIn.model_json_schema())},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["files"],
                    "properties": {
                        "files": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "one or more .txt / .md / .jsonl / .jsonl.gz files",
                        }
                    },
                }
            },
        },
    }
}


@router.post(
    "/articles",
    summary="添加文章：JSON 或上传文件（需要 API key） (add articles)",
    status_code=201,
    dependencies=[WriteAuth],
    openapi_extra=_UPLOAD_BODY,
    response_model=AddResult,
    responses={
        202: {"model": JobAccepted, "description": "large upload: runs as a background job"},
        400: {"model": ErrorOut},
        401: {"model": ErrorOut},
        403: {"model": ErrorOut, "description": "writes disabled: no ZHIWEN_API_KEY configured"},
        413: {"model": ErrorOut},
        415: {"model": ErrorOut},
        422: {"model": ErrorOut},
    },
)
async def add_articles(
    request: Request, index: IndexDep, settings: SettingsDep, jobs: JobsDep
) -> SafeJSONResponse:
    upload = await _read_upload(request, settings)
    metrics = request.app.state.metrics
    if upload.size > settings.background_upload_bytes:

        def work(ctx: JobContext) -> AddStats:
            parsed = _parse_upload(upload, settings, ctx)
            if not parsed.articles:
                raise InputError("nothing was ingested: no file held usable articles; see `errors`")
            ctx.phase("indexing", total=len(parsed.articles))
            stats = index.add(parsed.articles, on_progress=ctx.progress)
            metrics.articles_ingested.inc(stats.added + stats.updated)
            logger.info(
                "upload job: %d added, %d updated, %d unchanged, %d errors",
                stats.added,
                stats.updated,
                stats.unchanged,
                len(parsed.errors),
            )
            return stats

        job = jobs.submit("upload", work)
        return SafeJSONResponse(
            {"job_id": job.id, "status": job.status, "url": f"/v1/jobs/{job.id}"},
            status_code=202,
            headers={"Location": f"/v1/jobs/{job.id}"},
        )
    stats, errors = await run_in_threadpool(_ingest, index, upload, settings)
    metrics.articles_ingested.inc(stats.added + stats.updated)
    logger.info(
        "upload: %d added, %d updated, %d unchanged, %d errors",
        stats.added,
        stats.updated,
        stats.unchanged,
        len(errors),
    )
    return SafeJSONResponse(stats_dict(stats, errors), status_code=201)
