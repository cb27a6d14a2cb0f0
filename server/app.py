"""The app factory: settings, index and embedder in one place, routers, error handlers, metrics."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from rag import Embedder, Index, read_paths
from rag.embed import resolve_embedder
from rag.errors import IndexMissingError
from rag.generate import llm_from_settings
from rag.settings import Settings
from server.errors import SafeJSONResponse, install_error_handlers
from server.guard import GuardMiddleware
from server.jobs import Job, JobRegistry
from server.metrics import Metrics, MetricsMiddleware
from server.routers import articles, ask, health, openai
from server.service import Service

logger = logging.getLogger(__name__)

DESCRIPTION = """
知闻 (zhiwen)：中文新闻问答服务。回答均为抽取式，附带编号引用；每条引用的 `quote`
与文章存储文本 `text[start:end]` 逐字一致。支持简体、繁体和英文提问。

Question answering over Chinese news with verbatim, numbered citations.

* `POST /v1/ask`、`POST /v1/search`：与 `zhiwen ask --json` / `zhiwen search --json` 相同的 JSON。
* `POST /v1/chat/completions`、`GET /v1/models`：OpenAI 兼容，模型 id 为 `zhiwen`。
* `/v1/articles`：文章管理；写操作需要 `Authorization: Bearer <ZHIWEN_API_KEY>`。
* 错误统一为 `{"error": {"code": ..., "message": ...}}`，message 说明如何修正。
"""


def _version() -> str:
    try:
        return version("zhiwen")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0"


def open_index(settings: Settings, embedder: Embedder | None = None) -> Index:
    """Open the configured index; on a fresh machine create it and index the seeds first."""
    emb = embedder if embedder is not None else resolve_embedder(settings.embedder, settings.index)
    try:
        index = Index.open(settings.index, emb, create=False, store_words=settings.index_words)
    except IndexMissingError:
        index = Index.open(settings.index, emb, create=True, store_words=settings.index_words)
    stats = index.stats()
    if stats.get("articles", 0) == 0 and stats.get("generation", 0) == 0:
        seed_index(index, settings)
    else:
        logger.info(
            "index %s: %d articles, %d chunks (embedder %s)",
            settings.index,
            stats.get("articles", 0),
            stats.get("chunks", 0),
            stats.get("embedder", emb.name),
        )
    return index


def warm(index: Index) -> None:
    """Load what the first question would need (the embedder's weights, the segmenter's and
    tagger's dictionary and models, the answer policy with its span trees and their compiled
    walk) now, two at a time,
    so the server is ready sooner and the first question is not slow."""
    from concurrent.futures import Future, ThreadPoolExecutor

    from rag.answer import Policy
    from rag.postag import warm_up
    from rag.trees import warm_up as trees_warm_up

    with ThreadPoolExecutor(2) as pool:
        loads: list[Future[object]] = [
            pool.submit(index.embedder.encode_queries, ["预热"]),
            pool.submit(warm_up),
            pool.submit(Policy.load),
            pool.submit(trees_warm_up),
        ]
        for f in loads:
            f.result()


def seed_index(index: Index, settings: Settings) -> None:
    seeds = settings.seeds
    if not seeds.exists():
        logger.warning(
            "no index at %s and no seeds folder at %s: starting empty; add articles with "
            "POST /v1/articles or `zhiwen index PATH`",
            settings.index,
            seeds,
        )
        return
    logger.info("no index at %s: indexing %s/ first", settings.index, seeds)
    from rag.ingest import IngestLimits

    result = read_paths([seeds], limits=IngestLimits.from_settings(settings))
    for err in result.errors:
        logger.warning("seed %s%s: %s", err.path, f" line {err.line}" if err.line else "", err.reason)
    stats = index.add(result.articles)
    logger.info("indexed %d seed articles (%d chunks) into %s", stats.added, stats.chunks, settings.index)


def _mount_ui(app: FastAPI) -> bool:
    """Mount the web chat (the only place `server` touches `ui`, imported lazily: `ui` uses
    `server.service`, never the other way round)."""
    try:
        from ui.app import mount_ui
    except ImportError as exc:
        logger.info("web chat not mounted (%s); the API is at /docs", exc)
        return False
    mount_ui(app)
    logger.info("web chat at /ui")
    return True


def _mount_offline_docs(app: FastAPI) -> None:
    """Swagger UI at /docs from the files of the `swagger-ui-bundle` package, so the docs work offline."""
    from swagger_ui_bundle import swagger_ui_path

    app.mount("/docs-assets", StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} — docs",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon-32x32.png",
        )


def create_app(
    settings: Settings | None = None,
    *,
    index: Index | None = None,
    embedder: Embedder | None = None,
) -> FastAPI:
    """Build the app. With `index` given it is used as is (and not closed at shutdown);
    otherwise the lifespan opens `settings.index`, indexing `settings.seeds` if it is new."""
    settings = settings if settings is not None else Settings()  # type: ignore[call-arg]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned: Index | None = None
        if app.state.index is None:
            owned = await anyio.to_thread.run_sync(partial(open_index, settings, embedder))
            await anyio.to_thread.run_sync(warm, owned)
            app.state.index = owned
        try:
            yield
        finally:
            if not await anyio.to_thread.run_sync(app.state.jobs.wait, 60.0):
                logger.warning("shutting down with ingest jobs still running; their committed work is kept")
            if owned is not None:
                app.state.index = None
                owned.close()
            if app.state.llm is not None:
                app.state.llm.close()

    app = FastAPI(
        title="知闻 zhiwen API",
        version=_version(),
        description=DESCRIPTION,
        lifespan=lifespan,
        default_response_class=SafeJSONResponse,
        docs_url=None,  # served below from local files: the default page loads its scripts from a CDN
        redoc_url=None,
    )
    _mount_offline_docs(app)
    app.state.settings = settings
    app.state.index = index
    # generated answers only when a model is configured; otherwise no model is ever contacted
    app.state.llm = llm_from_settings(
        settings.llm_base_url,
        settings.llm_model,
        settings.llm_api_key.get_secret_value() if settings.llm_api_key is not None else None,
        settings.llm_timeout_s,
    )
    if app.state.llm is not None:
        logger.info("generated answers by model %s at %s", settings.llm_model, settings.llm_base_url)

    def index_stats() -> dict[str, Any] | None:
        idx: Index | None = app.state.index
        return idx.stats() if idx is not None else None

    jobs_ref: list[JobRegistry] = []
    metrics = Metrics(index_stats, lambda: jobs_ref[0].counts() if jobs_ref else {})

    def on_job_finish(job: Job) -> None:
        metrics.jobs_finished.labels(job.status).inc()

    # job reports shared through files beside the index, so any worker process can answer for them
    jobs = JobRegistry(
        on_finish=on_job_finish, shared_dir=settings.index.parent / f"{settings.index.name}.jobs"
    )
    jobs_ref.append(jobs)
    app.state.jobs = jobs
    app.state.metrics = metrics
    app.state.service = Service(settings, jobs, on_added=metrics.articles_ingested.inc)

    install_error_handlers(app)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(GuardMiddleware, settings=settings)  # outermost: limits before anything reads
    for module in (ask, openai, articles, health):
        app.include_router(module.router)

    ui_mounted = settings.ui and _mount_ui(app)
    app.state.ui_mounted = ui_mounted

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/ui" if ui_mounted else "/docs")

    return app
