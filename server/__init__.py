"""The HTTP service: `create_app` for tests and embedding, `run` for `zhiwen serve`."""

from __future__ import annotations

import logging
import os

from rag.settings import Settings
from server.app import create_app

__all__ = ["create_app", "run"]

logger = logging.getLogger(__name__)


def run(settings: Settings) -> None:
    """Serve the API (and the web chat, when installed) on `settings.host:settings.port`.

    With `settings.workers` > 1, uvicorn starts that many worker processes; each maps the
    same index read-only (the pages are shared) and sees every committed generation. The
    index is opened (and the seeds indexed, on a fresh machine) once here first, so the
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
        uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")
        return
    from server.app import open_index
    from server.metrics import enable_multiprocess

    open_index(settings).close()
    enable_multiprocess()
    # the workers build their app from the environment: pass every setting through it
    for name, value in settings.model_dump(exclude_none=True).items():
        secret = getattr(value, "get_secret_value", None)
        os.environ[f"ZHIWEN_{name.upper()}"] = str(secret() if secret else value)
    uvicorn.run(
        "server.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level="info",
    )
