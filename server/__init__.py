"""The HTTP service: `create_app` for tests and embedding, `run` for `zhiwen serve`."""

from __future__ import annotations

import logging

from rag.settings import Settings
from server.app import create_app

__all__ = ["create_app", "run"]

logger = logging.getLogger(__name__)


def run(settings: Settings) -> None:
    """Serve the API (and the web chat, when installed) on `settings.host:settings.port`."""
    import uvicorn

    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # startup news ("indexing seeds/ first", where the UI is) must show even when the CLI logs warnings only
    if logging.getLogger("server").getEffectiveLevel() > logging.INFO:
        logging.getLogger("server").setLevel(logging.INFO)
    logger.info("starting zhiwen on http://%s:%d (index %s)", settings.host, settings.port, settings.index)
    app = create_app(settings)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info")
