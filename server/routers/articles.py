"""Article management: list, read, add (JSON or file upload), delete; background ingest jobs."""

from __future__ import annotations

import json
import logging
from copy import deepcopy
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from rag.ingest import MAX_ID_CHARS, SUPPORTED_TYPES
from rag.records import Article
from server.deps import IndexDep, JobsDep, ServiceDep, WriteAuth
from server.errors import ApiError, validation_message
from server.jobs import stats_dict
from server.schemas import (
    AddResult,
    ArticleOut,
    ArticlePage,
    ArticlesIn,
    ArticleSummary,
    Deleted,
    ErrorOut,
    JobAccepted,
    JobOut,
    iso_date,
)
from server.service import Upload

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1", tags=["articles"])

MAX_FILES = 100


# ---------------------------------------------------------------- reading

AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "no key or a wrong key"},
    403: {"model": ErrorOut, "description": "writes disabled: no ZHIWEN_API_KEY configured"},
}


def _summary(a: Article) -> ArticleSummary:
    return ArticleSummary(
        id=a.id,
        title=a.title,
        published=a.published,
        source=a.source,
        url=a.url,
        parent_id=a.parent_id,
        chars=len(a.text),
    )


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
) -> ArticlePage:
    since = _check_date("since", since)
    until = _check_date("until", until)
    if since and until and since[:10] > until[:10]:
        raise ApiError(422, "invalid_request", f"`since` ({since}) is after `until` ({until}); swap them")
    items, total = index.list_articles(
        offset=offset, limit=limit, source=source or None, since=since, until=until, q=q or None
    )
    return ArticlePage(total=total, offset=offset, limit=limit, items=[_summary(a) for a in items])


ArticleId = Annotated[str, Path(min_length=1, max_length=MAX_ID_CHARS, description="article id")]


@router.get(
    "/articles/{article_id:path}",
    summary="文章元数据与正文（引用偏移所指的文本） (one article)",
    response_model=ArticleOut,
    responses={404: {"model": ErrorOut}},
)
def get_article(article_id: ArticleId, index: IndexDep) -> ArticleOut:
    article = index.get_article(article_id)
    return ArticleOut(**_summary(article).model_dump(), text=article.text)


@router.delete(
    "/articles/{article_id:path}",
    summary="删除文章（需要 API key） (delete an article)",
    dependencies=[WriteAuth],
    response_model=Deleted,
    responses={
        **AUTH_ERRORS,
        404: {"model": ErrorOut},
        503: {"model": ErrorOut, "description": "another write is under way: retry after `Retry-After` s"},
    },
)
def delete_article(article_id: ArticleId, index: IndexDep, service: ServiceDep) -> Deleted:
    service.delete(index, article_id)
    return Deleted(deleted=article_id)


# ---------------------------------------------------------------- jobs


@router.get(
    "/jobs",
    summary="后台导入任务列表（需要 API key） (recent ingest jobs)",
    dependencies=[WriteAuth],
    response_model=list[JobOut],
    responses=AUTH_ERRORS,
)
def list_jobs(jobs: JobsDep) -> list[JobOut]:
    return [JobOut.model_validate(j) for j in jobs.list()]


@router.get(
    "/jobs/{job_id}",
    summary="后台导入任务进度与逐文件错误 (ingest job progress)",
    response_model=JobOut,
    responses={404: {"model": ErrorOut}},
)
def get_job(job_id: Annotated[str, Path(max_length=100)], jobs: JobsDep) -> JobOut:
    job = jobs.get(job_id)
    if job is None:
        raise ApiError(
            404,
            "not_found",
            f"no job {job_id!r}; jobs are kept in memory until the server restarts (GET /v1/jobs lists them)",
        )
    return JobOut.model_validate(job)


# ---------------------------------------------------------------- adding


def _invalid_json(detail: str) -> ApiError:
    return ApiError(
        422,
        "invalid_json",
        f"the request body is not valid JSON ({detail}); send "
        '`{"articles": [{"title": ..., "text": ...}]}` with `Content-Type: application/json`',
    )


async def _read_upload(request: Request) -> Upload:
    """The upload's records or files (the body limit is enforced by `server.guard`)."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/json" or ctype.endswith("+json"):
        raw = await request.body()
        try:
            data = json.loads(raw)
        except RecursionError:
            raise _invalid_json("nested too deeply") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise _invalid_json(str(exc)) from exc
        try:
            body = ArticlesIn.model_validate(data)
        except RecursionError:
            raise _invalid_json("nested too deeply") from None
        except ValidationError as exc:
            errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
            code, message = validation_message(errors)
            raise ApiError(422, code, message) from exc
        records = [a.model_dump(exclude_none=True) for a in body.articles]
        return Upload(size=len(raw), records=records)
    if ctype == "multipart/form-data":
        try:
            form = await request.form(max_files=MAX_FILES, max_fields=MAX_FILES)
        except StarletteHTTPException as exc:
            if exc.status_code == 413:
                raise
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
                        f"form field `files` must carry files, not text; upload {SUPPORTED_TYPES} files",
                    )
                files.append((item.filename or "", await item.read()))
        finally:
            await form.close()
        if not files:
            raise ApiError(
                422,
                "invalid_request",
                f"no files in the form field `files`; send one or more {SUPPORTED_TYPES} files",
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
                            "description": f"one or more {SUPPORTED_TYPES} files",
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
        **AUTH_ERRORS,
        413: {"model": ErrorOut},
        415: {"model": ErrorOut},
        422: {"model": ErrorOut},
        503: {"model": ErrorOut, "description": "another write or too many upload jobs: retry later"},
        507: {"model": ErrorOut, "description": "the index disk is full"},
    },
)
async def add_articles(request: Request, index: IndexDep, service: ServiceDep) -> Any:
    upload = await _read_upload(request)
    if upload.size > service.settings.background_upload_bytes:
        job = await service.submit_waiting(index, upload)
        await service.settle(job)  # bombs and unusable files are refused here, with their 4xx
        accepted = JobAccepted(job_id=job.id, status=job.status, url=f"/v1/jobs/{job.id}")
        return JSONResponse(
            accepted.model_dump(), status_code=202, headers={"Location": f"/v1/jobs/{job.id}"}
        )
    stats, errors = await run_in_threadpool(service.add_now, index, upload)
    return AddResult.model_validate(stats_dict(stats, errors))
