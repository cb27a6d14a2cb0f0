"""Prometheus metrics, one registry per app: requests and latency by route template,
index size, ingest jobs. Served as text at `/metrics`."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.workers import MULTIPROC_ENV

logger = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class _StateCollector(Collector):
    """Index size and job counts, read at scrape time."""

    def __init__(
        self, index_stats: Callable[[], dict[str, Any] | None], job_counts: Callable[[], dict[str, int]]
    ):
        self._index_stats = index_stats
        self._job_counts = job_counts

    def collect(self) -> Iterable[Metric]:
        stats = None
        try:
            stats = self._index_stats()
        except Exception:
            logger.exception("could not read index stats for /metrics")
        articles = GaugeMetricFamily("zhiwen_index_articles", "articles in the index")
        chunks = GaugeMetricFamily("zhiwen_index_chunks", "chunks in the index")
        generation = GaugeMetricFamily("zhiwen_index_generation", "committed index generation")
        if stats is not None:
            articles.add_metric([], float(stats.get("articles", 0)))
            chunks.add_metric([], float(stats.get("chunks", 0)))
            generation.add_metric([], float(stats.get("generation", 0)))
        yield articles
        yield chunks
        yield generation
        jobs = GaugeMetricFamily(
            "zhiwen_ingest_jobs", "ingest jobs held in memory, by status", labels=["status"]
        )
        for status, n in sorted(self._job_counts().items()):
            jobs.add_metric([status], float(n))
        yield jobs


class Metrics:
    def __init__(
        self,
        index_stats: Callable[[], dict[str, Any] | None],
        job_counts: Callable[[], dict[str, int]],
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "zhiwen_http_requests",
            "HTTP requests by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "zhiwen_http_request_duration_seconds",
            "HTTP request latency by method and route template (until the last byte is sent)",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.jobs_finished = Counter(
            "zhiwen_ingest_jobs_finished",
            "background ingest jobs finished, by outcome",
            ["status"],
            registry=self.registry,
        )
        self.articles_ingested = Counter(
            "zhiwen_ingest_articles",
            "articles added or updated through the API",
            registry=self.registry,
        )
        state = _StateCollector(index_stats, job_counts)
        self.registry.register(state)
        # what /metrics serves: this registry, or in multi-worker mode every worker's
        # counters (from the shared directory) plus this worker's live state
        self.exposition = self.registry
        if os.environ.get(MULTIPROC_ENV):
            from prometheus_client import multiprocess

            self.exposition = CollectorRegistry(auto_describe=True)
            multiprocess.MultiProcessCollector(self.exposition)
            self.exposition.register(state)


def route_label(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    if isinstance(path, str) and path:
        return path
    return "unmatched"


class MetricsMiddleware:
    """Pure ASGI middleware (streaming-safe): counts and times every HTTP request and
    adds `X-Content-Type-Options: nosniff` to every response."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def wrapped_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
                if not any(k.lower() == b"x-content-type-options" for k, _ in headers):
                    headers.append((b"x-content-type-options", b"nosniff"))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, wrapped_send)
        finally:
            route = route_label(scope)
            method = scope.get("method", "GET")
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - start)
