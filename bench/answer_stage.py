"""Where `ask`'s answer stage spends its time, beyond the search (bench/indexing.py gives the
ratio of the two; this says which part of the stage to work on).

On the 20,000-article index of bench/load_server.py (or `--index DIR`), the questions of
bench/indexing.py's latency part on an existing index (`latency_questions`: first sentences
of random corpus articles, plus dev-set questions): each question asked once, its stages timed
by wrapping the functions `rag.answer.stage.ask` calls (analysing the question, retrieving, reading the candidate
sentences, scoring them, the "not found" decision, composing, the short answer), medians and
means per stage for answered and refused questions apart. Then, on the cited sentences of the
answered questions: how many the short answer reads for spans (`picked_span` skips those whose
span could not be chosen) and the time to build one's span candidates and features; and the
span model's and sentence ranker's trees on shortlists of their size (`predict`, and the
leaves found with numpy alone, the reference the compiled walk is held to).

    .venv/bin/python bench/answer_stage.py
    .venv/bin/python bench/answer_stage.py --index ~/.cache/zhiwen/bench/crud68k
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from indexing import CORPUS, RESULTS, latency_questions  # noqa: E402

from rag import Index, ask, get_embedder, search  # noqa: E402

STAGES = (
    "analyse",
    "retrieve",
    "candidates",
    "score_sentences",
    "named_features",
    "answerable",
    "choose",
    "compose",
    "pick_short_answer",
)


def timed(module: Any, name: str, into: collections.Counter[str]) -> None:
    """Wrap `module.name` so that its time adds to `into[name]`."""
    inner = getattr(module, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            into[name] += time.perf_counter() - t

    setattr(module, name, wrapper)


def stage_times(index: Index, qs: list[str]) -> dict[str, Any]:
    """Per question: answered or not, ask and search ms, and each stage's ms."""
    import rag.answer.span_choice as span_choice
    import rag.answer.stage as stage

    spent: collections.Counter[str] = collections.Counter()
    for name in STAGES:
        timed(stage, name, spent)
    read: list[int] = []  # sentences the short answer read for spans, per answered question
    inner = span_choice.sentence_spans

    def counted(policy: Any, q: Any, sents: Any) -> Any:
        read[-1] += len(sents)
        return inner(policy, q, sents)

    for q in qs[:20]:  # warm: lazy models, caches
        ask(index, q)
    span_choice.sentence_spans = counted  # type: ignore[assignment]
    rows = []
    cited = 0
    quoted: list[tuple[str, str]] = []  # (question, cited sentence) of the answered questions
    for q in qs:
        spent.clear()
        read.append(0)
        t = time.perf_counter()
        a = ask(index, q)
        ask_ms = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        search(index, q, top_k=10)
        search_ms = (time.perf_counter() - t) * 1000
        if not a.answered:
            read.pop()
        else:
            cited += len(a.citations)
            quoted.extend((q, c.quote) for c in a.citations)
        rows.append((a.answered, ask_ms, search_ms, {k: v * 1000 for k, v in spent.items()}))
    out: dict[str, Any] = {"questions": len(rows)}
    for flag, label in ((True, "answered"), (False, "refused")):
        sel = [r for r in rows if r[0] == flag]
        if not sel:
            continue
        out[label] = {
            "questions": len(sel),
            "ask_minus_search_p50_ms": float(np.median([r[1] - r[2] for r in sel])),
            "stages_ms": {
                name: {
                    "p50": float(np.median([r[3].get(name, 0.0) for r in sel])),
                    "mean": float(np.mean([r[3].get(name, 0.0) for r in sel])),
                }
                for name in STAGES
                if any(name in r[3] for r in sel)
            },
        }
    out["short_answer_sentences"] = {"cited": cited, "read_for_spans": sum(read)}
    out["quoted"] = quoted
    return out


def best_ms(fn: Callable[[], object], reps: int = 200) -> float:
    """The fastest of a few rounds of `reps` calls, per call, in ms."""
    fn()
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(reps):
            fn()
        best = min(best, (time.perf_counter() - t) / reps * 1000)
    return best


def span_and_tree_times(quoted: list[tuple[str, str]]) -> dict[str, float]:
    """The answered questions' cited sentences through the span features (each question's
    Simplified form and answer kind as the stage has them), and the shipped tree models on
    shortlists of their size: `predict` as served, and numpy's evaluation alone."""
    from rag.answer import Policy, analyse
    from rag.normalize import fold_width, simplified_question, simplify_with_map
    from rag.postag import tagged
    from rag.span_features import candidates_simplified

    policy = Policy.load()
    inputs = []
    for question, sentence in quoted:
        ss = simplify_with_map(sentence)[0]
        qs = fold_width(simplified_question(question))
        inputs.append((qs, analyse(question).kind, ss, tagged(ss)))
    out: dict[str, float] = {"span_sentences": len(inputs)}
    if inputs:

        def features() -> None:
            for qs, kind, ss, tags in inputs:
                candidates_simplified(qs, kind, ss, policy.spans, tags)

        out["span_candidates_ms_per_sentence"] = best_ms(features, reps=1) / len(inputs)
    rng = np.random.default_rng(0)
    for label, model, rows in (
        ("span_trees", policy.span_model.trees, policy.span_model.shortlist),
        ("sentence_trees", policy.sentence_model.trees, policy.sentence_model.shortlist),
    ):
        if model is None or rows <= 0:
            continue
        x = rng.random((rows, model.n_features)) * rng.integers(0, 3, size=(rows, model.n_features))
        out[f"{label}_predict_ms"] = best_ms(lambda m=model, x=x: m.predict(x))
        if hasattr(model, "exit_leaves"):  # (a tree before the compiled walk evaluates with numpy only)
            out[f"{label}_numpy_exits_ms"] = best_ms(lambda m=model, x=x: m.exit_leaves(x, compiled=False))
        out[f"{label}_rows"] = rows
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", default=None, help="an index (default: bench/load_server.py's 20k one)")
    ap.add_argument("--questions", type=int, default=200, help="generic questions")
    ap.add_argument("--dev-questions", type=int, default=100, help="questions of each dev set")
    args = ap.parse_args()
    if not CORPUS.exists():
        print(f"skipped: no corpus at {CORPUS} (../shared)")
        return 0
    path = Path(args.index) if args.index else ROOT / ".zhiwen" / "bench" / "crud-20000-use" / "index"
    if not path.exists():
        print(f"skipped: no index at {path}; build it with bench/indexing.py --skip-throughput first")
        return 0
    _, generic, dev = latency_questions(20_000, "use", args.questions, path, args.dev_questions)
    emb = get_embedder("use")
    emb.encode_queries(["预热"])
    index = Index.open(path, emb)
    report = {"index": str(path), **stage_times(index, generic + dev)}
    index.close()
    report |= span_and_tree_times(report.pop("quoted"))
    for label in ("answered", "refused"):
        part = report.get(label)
        if part is None:
            continue
        print(
            f"{label}: {part['questions']} questions, ask - search p50 {part['ask_minus_search_p50_ms']:.2f} ms"
        )
        for name, v in part["stages_ms"].items():
            print(f"  {name:18s} p50 {v['p50']:.3f} ms  mean {v['mean']:.3f} ms")
    s = report["short_answer_sentences"]
    print(f"short answers: {s['read_for_spans']} of {s['cited']} cited sentences read for spans")
    for key, value in report.items():
        if key.endswith(("_ms", "_ms_per_sentence", "_rows")) or key == "span_sentences":
            print(f"{key}: {value:.3f}" if isinstance(value, float) else f"{key}: {value}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "answer_stage.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(f"wrote {RESULTS / 'answer_stage.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
