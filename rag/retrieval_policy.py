"""The retrieval policy: every number that decides retrieval — the fusion weights, how many
candidates each leg gives, when a passage is a reprint of another, BM25's k1 and b — read from
one versioned data file, `rag/retrieval_policy.json`, written by `bench/retrieval.py --fit
--write-policy` (which fits the fusion weight on the dev sets, each held apart, and carries the
others as given). A leaf module: the lexical index (rag.index) and retrieval (rag.retrieve)
both read it.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

POLICY_FILE = Path(__file__).with_name("retrieval_policy.json")
POLICY_FORMAT = 2  # 2: bm25_k1, bm25_b
_REWRITE = "write it again with `.venv/bin/python bench/retrieval.py --fit --write-policy`"


@dataclass(frozen=True, slots=True)
class RetrievalPolicy:
    """The numbers that decide retrieval, as `bench/retrieval.py --fit` wrote them."""

    bm25_weight: float  # the BM25 leg's share of the fused score (its scores over the pool's best)
    dense_weight: float  # the dense leg's share (cosines scaled to [0, 1] over the pool)
    candidates: int  # each leg's top-k; their union is the pool that is fused
    duplicate_jaccard: float  # a passage whose shingles overlap a better one's this much is a reprint
    bm25_k1: float  # BM25's term-frequency saturation (rag.index.lexical)
    bm25_b: float  # BM25's length normalisation

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> RetrievalPolicy:
        if raw.get("format_version") != POLICY_FORMAT:
            raise ValueError(
                f"retrieval policy format {raw.get('format_version')!r}, this code reads {POLICY_FORMAT}: {_REWRITE}"
            )
        names = [f.name for f in dataclasses.fields(cls)]
        missing = [n for n in names if n not in raw]
        if missing:
            raise ValueError(f"retrieval policy: {', '.join(missing)} missing; {_REWRITE}")
        try:
            policy = cls(
                bm25_weight=float(raw["bm25_weight"]),
                dense_weight=float(raw["dense_weight"]),
                candidates=int(raw["candidates"]),
                duplicate_jaccard=float(raw["duplicate_jaccard"]),
                bm25_k1=float(raw["bm25_k1"]),
                bm25_b=float(raw["bm25_b"]),
            )
        except (TypeError, ValueError) as e:
            raise ValueError(f"retrieval policy: a value is not a number ({e}); {_REWRITE}") from e
        if min(policy.bm25_weight, policy.dense_weight) < 0 or policy.bm25_weight + policy.dense_weight <= 0:
            raise ValueError("retrieval policy: the fusion weights must be >= 0 and not both 0")
        if policy.candidates < 1 or not 0 < policy.duplicate_jaccard <= 1:
            raise ValueError("retrieval policy: candidates must be >= 1 and duplicate_jaccard in (0, 1]")
        if policy.bm25_k1 < 0 or not 0 <= policy.bm25_b <= 1:
            raise ValueError("retrieval policy: bm25_k1 must be >= 0 and bm25_b in [0, 1]")
        return policy


@functools.cache
def retrieval_policy(path: Path = POLICY_FILE) -> RetrievalPolicy:
    """The shipped retrieval policy (read once per process)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ValueError(f"cannot read the retrieval policy {path}: {e}; {_REWRITE}") from e
    if not isinstance(raw, dict):
        raise ValueError(f"the retrieval policy {path} is not a JSON object; {_REWRITE}")
    return RetrievalPolicy.from_dict(raw)
