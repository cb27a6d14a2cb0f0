"""Recordings of dev questions for the answer stage's fitting commands (bench/fit_policy.py,
bench/fit_ranker.py, bench/lookalikes.py, bench/heldapart_answers.py): each candidate sentence
of a question with the features the shipped extractor gives it (rag.answer.features) and
whether it holds the gold answer, written as JSONL once and replayed without an index or a
model (rag.answer.recorded_sentence)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rag import Index
from rag.answer import (
    LATER_FEATURES,
    RECORDED_FEATURES,
    Policy,
    Query,
    Sentence,
    analyse,
    counts_in,
    gather_evidence,
    known_words,
    query_measure,
    recorded_sentence,
)
from rag.evaluate import QAItem, gold_found
from rag.normalize import simplified_question

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SETS = {"cmrc2018_dev": "cmrc2018_dev_qa.jsonl", "drcd_dev": "drcd_dev_qa.jsonl"}


def record(
    index: Index, item: QAItem, label: str, set_name: str, policy: Policy, question: str | None = None
) -> dict[str, Any] | None:
    """The features of every candidate sentence of `item` (or of `question` in its stead),
    analysed as rag.answer.ask analyses it (the index's vocabulary tells its proper words)."""
    q = analyse(question or item.question, policy=policy, known=known_words(index))
    ev = gather_evidence(index, q, policy=policy)
    if not ev.sentences:
        return None
    return {
        "set": set_name,
        "label": label,
        "question": question or item.question,
        "kind": q.kind,
        "script": q.script,
        "has_terms": bool(q.terms),
        "terms": q.terms,
        "sentences": [
            {
                **{f: getattr(s, f) for f in RECORDED_FEATURES},
                "hit_rank": s.hit_rank,
                "article": s.hit.article_id,
                "text": s.text,
                "start": s.start,
                "gold": label == "answerable" and gold_found(item, s.text),
            }
            for s in ev.sentences
        ],
    }


def recording(
    path: str | None, index: str, collect_rows: Callable[[Path], list[dict[str, Any]]]
) -> list[dict[str, Any]] | None:
    """The rows of the JSONL recording at `path` when it exists; else `collect_rows(root)` over
    the dev indexes in `index`, written to `path` when one is given. None (and a message) when
    ../shared or the dev indexes are missing."""
    rec = Path(path) if path else None
    if rec is not None and rec.exists():
        return [json.loads(line) for line in rec.read_text(encoding="utf-8").splitlines() if line.strip()]
    root = Path(index)
    if not (SHARED / "eval").is_dir() or not all((root / s / "BUILT").exists() for s in SETS):
        print("skipped: needs ../shared and the dev indexes (run bench/devsets.py --index DIR first)")
        return None
    rows = collect_rows(root)
    if rec is not None:
        rec.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return rows


def recording_policy(policy: Policy) -> Policy:
    """`policy` computing the answer-type feature for every candidate, so that any weights
    can be replayed."""
    return dataclasses.replace(policy, evidence=dataclasses.replace(policy.evidence, type_shortlist=10**6))


def replay(row: dict[str, Any]) -> tuple[Query, list[Sentence]]:
    if "terms" not in row:
        raise SystemExit(
            "this recording has no question terms (recorded before the sentence ranker): record it again"
        )
    q = Query(
        row["question"],
        row["script"],
        "",
        "",
        row["kind"],
        terms=row["terms"],
        measure=query_measure(simplified_question(row["question"]), row["script"], row["kind"]),
    )
    return q, [
        recorded_sentence(d["article"], d["hit_rank"], d, d.get("text", ""), d.get("start", 0))
        for d in row["sentences"]
    ]


@dataclasses.dataclass(slots=True)
class Replayed:
    q: Query
    sents: list[Sentence]
    gold: list[bool]
    answerable: bool
    label: str = "answerable"  # or "unanswerable" (deleted source), "lookalike" (bench/lookalikes.py)


def require_later_features(rows: list[dict[str, Any]], what: str) -> None:
    """Exit, saying what to do, when a recording predates a feature the decision weighs
    (`LATER_FEATURES`: replayed as 0, it would be fitted and measured as absent)."""
    first = next((r["sentences"][0] for r in rows if r["sentences"]), {})
    missing = [f for f in LATER_FEATURES if first and f not in first]
    if missing:
        raise SystemExit(
            f"{what} has no {', '.join(missing)} (recorded before it was a feature): record it again "
            "(a new --features file)"
        )


def replayed(rows: list[dict[str, Any]]) -> list[Replayed]:
    """The recorded questions and candidates, as the shipped stage now has them: a question asking
    a count in a measure (`Query.measure`, 多少人) keeps only the candidates that count in it
    (rag.answer.counts_in; recordings made before that rule hold all)."""
    out = []
    for r in rows:
        q, sents = replay(r)
        gold = [d["gold"] for d in r["sentences"]]
        if q.measure:
            keep = [i for i, s in enumerate(sents) if counts_in(s.canon, q.measure)]
            sents, gold = [sents[i] for i in keep], [gold[i] for i in keep]
        out.append(Replayed(q, sents, gold, r["label"] == "answerable", r["label"]))
    return out
