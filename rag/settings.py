"""The one validated place for settings (env prefix `ZHIWEN_`).

Read only at the edges (the CLI and the HTTP server); the library itself takes
explicit arguments.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ZHIWEN_", extra="ignore")

    index: Path = Field(Path(".zhiwen/index"), description="index directory")
    embedder: str | None = Field(
        None,
        description="'use' (offline default), 'st:NAME_OR_PATH' or 'fake'; unset = what the index was built with",
    )
    seeds: Path = Field(Path("seeds"), description="articles indexed when no index exists")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    api_key: SecretStr | None = Field(None, description="Bearer key required for writes")
    max_question_chars: int = Field(1000, ge=1)
    max_upload_mb: float = Field(20.0, gt=0)
    max_top_k: int = Field(50, ge=1, description="largest top_k a request may ask for (API, CLI, web chat)")
    max_file_mb: float = Field(
        256.0, gt=0, description="largest file, after decompression, that any ingest path reads"
    )
    max_line_mb: float = Field(8.0, gt=0, description="longest line of an ingested file")
    decompress_budget_mb: float = Field(
        128.0, gt=0, description="bytes that concurrent uploads may hold while being read, process-wide"
    )
    max_upload_jobs: int = Field(2, ge=1, description="background upload jobs running at once")
    answer_slots: int = Field(
        1,
        ge=1,
        le=64,
        description=(
            "questions (ask and search) one server process works on at once; the rest wait their turn. "
            "Answering is CPU work under one GIL: several at once in a process only time-slice its core, "
            "which lowers throughput and stretches the slowest answers. Answers an LLM writes do not take one"
        ),
    )
    background_upload_bytes: int = Field(256 * 1024, ge=0, description="uploads larger than this run as jobs")
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: SecretStr | None = None
    llm_timeout_s: float = Field(30.0, gt=0)
    ui: bool = Field(True, description="mount the Gradio chat at /ui")
    workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=1,
        le=64,
        description="server worker processes sharing the memory-mapped index (default: the core count)",
    )
    index_words: bool = Field(
        True,
        description="store each sentence's words as it is indexed (faster answers need no tagging); "
        "false indexes faster and `zhiwen upgrade` stores them later",
    )
    ray_address: str | None = Field(
        None, description="`zhiwen index` runs on Ray: 'local', 'auto' or the head's HOST:PORT"
    )
