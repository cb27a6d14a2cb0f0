"""A fake embedder that keeps what it was asked to embed, for tests of what gets embedded."""

from __future__ import annotations

from rag import FakeEmbedder


class RecordingEmbedder(FakeEmbedder):
    """The fake embedder, keeping every document text it is asked to embed, in order."""

    def __init__(self, dim: int = 64) -> None:
        super().__init__(dim)
        self.texts: list[str] = []

    def encode_documents(self, texts):  # type: ignore[no-untyped-def]
        self.texts.extend(texts)
        return super().encode_documents(texts)
