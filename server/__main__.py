"""`python -m server [--host H] [--port P] [--index DIR] [--embedder SPEC] [--seeds DIR] [--no-ui] [--workers N]`.

Options override the `ZHIWEN_*` environment; `zhiwen serve` does the same.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rag.settings import Settings
from server import run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m server", description="serve the zhiwen HTTP API")
    parser.add_argument("--host", help="bind address (default 127.0.0.1, or ZHIWEN_HOST)")
    parser.add_argument("--port", type=int, help="port (default 8000, or ZHIWEN_PORT)")
    parser.add_argument("--index", type=Path, help="index directory (ZHIWEN_INDEX)")
    parser.add_argument("--embedder", help="use | st:NAME_OR_PATH | fake (ZHIWEN_EMBEDDER)")
    parser.add_argument("--seeds", type=Path, help="articles indexed when there is no index (ZHIWEN_SEEDS)")
    parser.add_argument("--no-ui", action="store_true", help="do not mount the web chat at /ui")
    parser.add_argument(
        "--workers", type=int, help="worker processes (default: the core count, or ZHIWEN_WORKERS)"
    )
    args = parser.parse_args(argv)
    overrides: dict[str, Any] = {
        k: v
        for k, v in vars(args).items()
        if k in ("host", "port", "index", "embedder", "seeds", "workers") and v is not None
    }
    if args.no_ui:
        overrides["ui"] = False
    run(Settings(**overrides))


if __name__ == "__main__":
    main()
