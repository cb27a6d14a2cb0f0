"""Evaluation on QA files in the format of `../shared/eval/` (see its README).

Per question: the source article's rank among the search hits (hit@1, hit@5, MRR),
whether the answer holds the gold (compared in Simplified), whether an unanswerable
question got `answered: false`, whether every citation's quote equals the stored text at
its offsets, the short answer against the gold spans (exact match and character F1), the
answer's length and the latency of `ask`.
"""

from __future__ import annotations

import json
import logging
import re
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from rag.answer import ask, search
from rag.errors import InputError
from rag.index import Index
from rag.normalize import to_simplified
from rag.records import Answer

logger = logging.getLogger(__name__)
_CITE_MARK = re.compile(r"\[\d+\]")


@dataclass(slots=True)
class QAItem:
    id: str
    question: str
    answers: list[str] = field(default_factory=list)
    answers_all: list[str] = field(default_factory=list)
    answers_groups: list[list[str]] = field(default_factory=list)
    answerable: bool = True
    source: str | None = None


@dataclass(slots=True)
class Report:
    name: str
    questions: int = 0
    answerable: int = 0
    hit1: float = 0.0
    hit5: float = 0.0
    mrr: float = 0.0
    answer_accuracy: float = 0.0
    no_answer_accuracy: float | None = None
    citation_validity: float = 1.0
    citations: int = 0
    latency_p50_ms: float = 0.0
    latency_p95_ms: float = 0.0
    # short answers, over the answerable questions with `answers` gold (0 when none is given)
    span_questions: int = 0
    span_given: float = 0.0  # share answered with a short answer
    span_exact: float = 0.0
    span_f1: float = 0.0
    answer_chars_p50: float = 0.0  # median length of the answers given (citation marks excluded)


def load_qa(path: str | Path, limit: int | None = None) -> list[QAItem]:
    items: list[QAItem] = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                items.append(
                    QAItem(
                        id=str(d.get("id", n)),
                        question=str(d["question"]),
                        answers=list(d.get("answers") or []),
                        answers_all=list(d.get("answers_all") or []),
                        answers_groups=[list(g) for g in d.get("answers_groups") or []],
                        answerable=bool(d.get("answerable", True)),
                        source=d.get("source"),
                    )
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise InputError(
                    f"{path}:{n} is not a QA record ({exc}); each line needs at least "
                    '{"question": ..., "answers": [...]}'
                ) from exc
            if limit and len(items) >= limit:
                break
    return items


def gold_found(item: QAItem, answer_text: str) -> bool:
    text = to_simplified(answer_text)

    def has(g: str) -> bool:
        return to_simplified(g) in text

    if item.answers_all:
        return all(has(g) for g in item.answers_all)
    if item.answers_groups:
        return all(any(has(g) for g in group) for group in item.answers_groups)
    return any(has(g) for g in item.answers)


def span_norm(text: str) -> str:
    """Simplified, lower case, without whitespace or punctuation (how spans are compared)."""
    s = to_simplified(text).lower()
    return "".join(c for c in s if not c.isspace() and not unicodedata.category(c).startswith("P"))


def char_f1(pred: str, gold: str) -> float:
    """SQuAD-style character F1 of two spans (after `span_norm`)."""
    p, g = Counter(span_norm(pred)), Counter(span_norm(gold))
    same = sum((p & g).values())
    if not same:
        return 0.0
    prec, rec = same / sum(p.values()), same / sum(g.values())
    return 2 * prec * rec / (prec + rec)


def span_scores(pred: str | None, golds: Sequence[str]) -> tuple[bool, float]:
    """(exact match, best character F1) of a short answer against any of the gold spans."""
    if not pred or not golds:
        return False, 0.0
    return any(span_norm(pred) == span_norm(g) for g in golds), max(char_f1(pred, g) for g in golds)


def _source_id(source: str) -> str:
    return source[: -len(".txt")] if source.endswith(".txt") else source


def citations_valid(index: Index, answer: Answer, cache: dict[str, str]) -> tuple[int, int]:
    ok = 0
    for c in answer.citations:
        text = cache.get(c.article_id)
        if text is None:
            text = cache[c.article_id] = index.get_article(c.article_id).text
        ok += text[c.start : c.end] == c.quote
    return ok, len(answer.citations)


def evaluate(
    index: Index,
    items: Iterable[QAItem],
    *,
    name: str = "qa",
    top_k: int = 5,
    details: Callable[[dict[str, object]], None] | None = None,
    progress: bool = False,
) -> Report:
    items = list(items)
    report = Report(name=name, questions=len(items))
    ranks: list[int | None] = []
    correct = no_answer_ok = unanswerable = 0
    cites_ok = cites_all = 0
    latencies: list[float] = []
    spans: list[tuple[bool, bool, float]] = []  # (given, exact, f1)
    lengths: list[int] = []
    cache: dict[str, str] = {}
    it: Iterable[QAItem] = items
    if progress:
        from tqdm import tqdm

        it = tqdm(items, desc=name, unit="q")
    for item in it:
        rank: int | None = None
        if item.answerable and item.source:
            sid = _source_id(item.source)
            hits = search(index, item.question, top_k=top_k)
            for r, h in enumerate(hits, 1):
                if h.article_id == sid or h.parent_id == sid:
                    rank = r
                    break
            ranks.append(rank)
        t0 = time.perf_counter()
        ans = ask(index, item.question, top_k=top_k)
        latencies.append((time.perf_counter() - t0) * 1000)
        ok, n = citations_valid(index, ans, cache)
        cites_ok += ok
        cites_all += n
        if ans.answered:
            lengths.append(len(_CITE_MARK.sub("", ans.answer)))
        short = ans.short_answer.text if ans.answered and ans.short_answer else None
        if item.answerable:
            good = ans.answered and gold_found(item, ans.answer)
            correct += good
            if item.answers:
                spans.append((short is not None, *span_scores(short, item.answers)))
        else:
            unanswerable += 1
            good = not ans.answered
            no_answer_ok += good
        if details:
            details({"id": item.id, "question": item.question, "answerable": item.answerable, "rank": rank,
                     "answered": ans.answered, "correct": good, "answer": ans.answer, "short_answer": short,
                     "gold": item.answers or item.answers_all or item.answers_groups})  # fmt: skip
    report.answerable = len(items) - unanswerable
    if ranks:
        report.hit1 = sum(r == 1 for r in ranks) / len(ranks)
        report.hit5 = sum(r is not None and r <= 5 for r in ranks) / len(ranks)
        report.mrr = sum(1.0 / r for r in ranks if r) / len(ranks)
    report.answer_accuracy = correct / report.answerable if report.answerable else 0.0
    report.no_answer_accuracy = no_answer_ok / unanswerable if unanswerable else None
    report.citations = cites_all
    report.citation_validity = cites_ok / cites_all if cites_all else 1.0
    if spans:
        report.span_questions = len(spans)
        report.span_given = sum(g for g, _, _ in spans) / len(spans)
        report.span_exact = sum(e for _, e, _ in spans) / len(spans)
        report.span_f1 = sum(f for _, _, f in spans) / len(spans)
    if lengths:
        report.answer_chars_p50 = float(np.median(lengths))
    if latencies:
        report.latency_p50_ms = float(np.percentile(latencies, 50))
        report.latency_p95_ms = float(np.percentile(latencies, 95))
    return report


def report_table(reports: list[Report]) -> str:
    head = (
        "| set | questions | hit@1 | hit@5 | MRR | answer acc. | no-answer acc. | citation validity "
        "| short answer given / EM / F1 | answer chars p50 | p50 ms | p95 ms |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|"
    )
    rows = []
    for r in reports:
        na = "—" if r.no_answer_accuracy is None else f"{r.no_answer_accuracy:.3f}"
        span = f"{r.span_given:.2f} / {r.span_exact:.3f} / {r.span_f1:.3f}" if r.span_questions else "—"
        rows.append(
            f"| {r.name} | {r.questions} | {r.hit1:.3f} | {r.hit5:.3f} | {r.mrr:.3f} | "
            f"{r.answer_accuracy:.3f} | {na} | {r.citation_validity:.3f} ({r.citations}) | "
            f"{span} | {r.answer_chars_p50:.0f} | {r.latency_p50_ms:.0f} | {r.latency_p95_ms:.0f} |"
        )
    return "\n".join([head, *rows])


def report_dict(r: Report) -> dict[str, object]:
    return asdict(r)
