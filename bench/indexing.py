"""Indexing throughput, query latency, index size and memory.

1. Throughput on N CRUD articles (default 2,000): the raw embedder alone on the texts of the
   articles (each sentence and each article's title line), then on only the texts the
   pipeline embeds (a text repeated in the run is embedded once while the index remembers
   it), then the whole pipeline (parse, split, tokenize, embed, commit) into a fresh index,
   interleaved step by step (`--step` articles, default the index's commit batch) so all
   three see the same machine state. The first ratio says what indexing costs against
   embedding the articles; the second what the pipeline costs beyond the embedding it does;
   `--rounds N` repeats it into N fresh indexes, each with the next N articles of the corpus
   (articles this process has not indexed: the segmenter and tagger remember runs they saw).
2. Latency of `ask` and `search` on the 20,000-article index that bench/load_server.py
   builds (built here if missing), or on an existing index (`--index`, e.g. the 68k one of
   bench/corpus.py): p50/p95 over generic questions (first sentences of random corpus
   articles) plus dev-set questions (`--dev-questions` of CMRC 2018 and of DRCD), the time
   to open the index, its size on disk, and the process's memory after opening and after
   the questions (current RSS) and at its peak.

    .venv/bin/python bench/indexing.py                    # both parts
    .venv/bin/python bench/indexing.py --skip-latency --rounds 2   # part 1 only
    .venv/bin/python bench/indexing.py --skip-throughput --index ~/.cache/zhiwen/bench/crud68k
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from load_server import CORPUS, build_base_index, read_records  # noqa: E402

from rag import Index, ask, get_embedder, parse_records, search  # noqa: E402
from rag.index.core import BATCH_ARTICLES  # noqa: E402
from rag.prepare import RecentVectors, plan_chunks  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def dev_questions(n: int) -> list[str]:
    """The first `n` questions of each dev set (same-script files), where ../shared has them."""
    out: list[str] = []
    for name in ("cmrc2018_dev_qa.jsonl", "drcd_dev_qa.jsonl"):
        path = CORPUS.parents[1] / "eval" / name
        if not path.exists() or n <= 0:
            continue
        with path.open(encoding="utf-8") as f:
            for i, line in enumerate(f):
                if i >= n:
                    break
                out.append(str(json.loads(line)["question"]))
    return out


def dir_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def throughput(
    n: int, embedder_spec: str, rounds: int = 1, step: int = 0, words: bool = True
) -> dict[str, float]:
    """The embedder alone, then the whole pipeline, on the same articles, `rounds` times.

    The machine's speed drifts from minute to minute (runs of the same code gave ratios from
    0.99 to 1.39), so the two are interleaved finely: for every `step` articles (default: the
    index's own commit batch), the embedder alone encodes their texts, then `index.add` indexes
    them, into one index per round. The ratio is total pipeline time over total embedder time,
    and the median of the per-step ratios is reported beside it. CPU seconds (user + system,
    both cores) are reported too: they do not count time the machine was taken away. Without
    `words` (`zhiwen index --no-words`) the sentences' words are left out, then stored by
    `Index.upgrade` after each round, timed apart."""
    emb = get_embedder(embedder_spec)
    step = step or BATCH_ARTICLES

    def round_inputs(articles: list[Any]) -> tuple[list[Any], list[list[str]], list[list[str]]]:
        slices = [articles[i : i + step] for i in range(0, len(articles), step)]
        texts = [[t for a in part for t in plan_chunks(a).embed_texts] for part in slices]
        # the texts the pipeline itself embeds: a text repeated in a batch, or held by the
        # (fresh) index's memory of recent vectors (rag.prepare.RecentVectors), is embedded once
        memory = RecentVectors()
        embedded: list[list[str]] = []
        for part_texts in texts:
            _, todo = memory.partition(part_texts)
            memory.remember(todo, np.zeros((len(todo), 1), np.float32))
            embedded.append(todo)
        return slices, texts, embedded

    def embed_alone(batch: list[str]) -> tuple[float, float]:
        c, t = time.process_time(), time.perf_counter()
        for i in range(0, len(batch), 256):
            emb.encode_documents(batch[i : i + 256])
        return time.perf_counter() - t, time.process_time() - c

    raw = pipe = raw_cpu = pipe_cpu = own = own_cpu = upgrade = 0.0
    step_ratios: list[float] = []
    total_chunks, size, reused = 0, 0.0, 0.0
    all_texts: list[list[str]] = []
    all_embedded: list[list[str]] = []
    articles_done = 0
    for round_ in range(rounds):
        # each round its own articles, never seen by this process: the segmenter's and the
        # tagger's memories of runs they have seen (rag.bm25, rag.postag) would answer for
        # articles indexed twice, and a new article's words cost what the first time costs
        articles = parse_records(read_records(CORPUS, round_ * n, n), CORPUS.name).articles
        slices, texts, embedded = round_inputs(articles)
        all_texts += texts
        all_embedded += embedded
        articles_done += len(articles)
        if round_ == 0:
            emb.encode_documents(texts[0][:32])  # warm up
        with tempfile.TemporaryDirectory() as tmp:
            index = Index.open(Path(tmp) / "ix", emb, store_words=words)
            for part, part_texts, part_embedded in zip(slices, texts, embedded, strict=True):
                r, rc = embed_alone(part_texts)
                o, oc = embed_alone(part_embedded)
                c, t = time.process_time(), time.perf_counter()
                total_chunks += index.add(part).chunks
                p, pc = time.perf_counter() - t, time.process_time() - c
                raw, raw_cpu, pipe, pipe_cpu = raw + r, raw_cpu + rc, pipe + p, pipe_cpu + pc
                own, own_cpu = own + o, own_cpu + oc
                step_ratios.append(p / r)
            if not words:
                t = time.perf_counter()
                index.upgrade()
                upgrade += time.perf_counter() - t
            reused = index.recent.reused_chars / max(1, index.recent.looked_up_chars)
            size = dir_mb(Path(tmp) / "ix")
            index.close()
        print(
            f"after round {round_ + 1}: embedder {raw:.1f} s (on the texts the pipeline embeds "
            f"{own:.1f} s), pipeline {pipe:.1f} s, ratio {pipe / raw:.3f} ({pipe / own:.3f})"
            + (
                ""
                if words
                else f"; then `upgrade` {upgrade:.1f} s ({upgrade / raw:.3f} of the embedder time)"
            )
        )
    texts, embedded = all_texts, all_embedded
    all_chars = sum(len(t) for part in texts for t in part)
    return {
        "articles": n,  # per round
        "chunks": total_chunks,  # all rounds
        "rounds": rounds,
        "step": step,
        "embedder_texts_per_s": sum(map(len, texts)) / raw,
        "embedder_articles_per_s": articles_done / raw,
        "pipeline_articles_per_s": articles_done / pipe,
        "pipeline_chunks_per_s": total_chunks / pipe,
        "pipeline_over_embedder": pipe / raw,
        "step_ratio_median": float(np.median(step_ratios)),
        "cpu_pipeline_over_embedder": pipe_cpu / raw_cpu,
        # the same against the embedder on only the texts the pipeline embedded (each repeated
        # text once): what the pipeline costs beyond embedding, without the repeats it skips
        "embedded_chars_share": sum(len(t) for part in embedded for t in part) / all_chars,
        "reused_from_memory_chars_share": reused,
        "pipeline_over_embedder_on_embedded_texts": pipe / own,
        "cpu_pipeline_over_embedder_on_embedded_texts": pipe_cpu / own_cpu,
        "index_mb": size,
        "words": words,
        "upgrade_over_embedder": upgrade / raw,
    }


def answer_stage(ask_ms: list[float], search_ms: list[float], answered: list[bool]) -> dict[str, float]:
    """What the answer stage adds to the search, per question (`ask` less `search` of the same
    question, medians): over all questions, the answered ones and the refused ones. The
    questions' `ask` times have two modes (an answered question also picks its sentences and
    its short answer), and the `ask` p50 can fall between them, so the ratio of the p50s moves
    with small shifts; these medians say where the time goes."""
    extra = np.asarray(ask_ms) - np.asarray(search_ms)
    yes = np.asarray(answered, dtype=bool)

    def median(values: np.ndarray) -> float:
        return float(np.median(values)) if values.size else float("nan")

    return {
        "answer_stage_p50_ms": median(extra),
        "answer_stage_p50_answered_ms": median(extra[yes]),
        "answer_stage_p50_refused_ms": median(extra[~yes]),
    }


def latency_questions(
    n: int, embedder_spec: str, questions: int, existing: Path | None = None, n_dev: int = 100
) -> tuple[Path, list[str], list[str]]:
    """The index the latency part measures and its questions: `existing`, or the `n`-article
    index of bench/load_server.py (built here if missing); `questions` generic ones (first
    sentences of random corpus articles, the same sample each run) and `n_dev` of each dev set."""
    if existing is not None:  # an index of the corpus built elsewhere (bench/corpus.py)
        from load_server import question_from

        path = existing
        recs = read_records(CORPUS, 0, 5000)
        sample = random.Random(0).sample(recs, min(500, len(recs)))
        qs = [q for q in (question_from(str(r["text"])) for r in sample) if len(q) >= 6]
    else:
        path, qs = build_base_index(argparse.Namespace(articles=n, embedder=embedder_spec))
    rng = random.Random(1)
    return path, rng.sample(qs, min(questions, len(qs))), dev_questions(n_dev)


def latency(
    n: int, embedder_spec: str, questions: int, existing: Path | None = None, n_dev: int = 100
) -> dict[str, float]:
    path, qs, dev = latency_questions(n, embedder_spec, questions, existing, n_dev)
    emb = get_embedder(embedder_spec)
    emb.encode_queries(["预热"])  # load the model outside the open time
    rss_before = rss_mb()
    t = time.perf_counter()
    index = Index.open(path, emb)
    open_s = time.perf_counter() - t
    rss_open = rss_mb()
    ask(index, qs[0])  # load lazy models (jieba's tagger) outside the measurement
    ask_ms, search_ms, answered_each = [], [], []
    for q in qs + dev:
        t = time.perf_counter()
        a = ask(index, q)
        ask_ms.append((time.perf_counter() - t) * 1000)
        answered_each.append(a.answered)
        t = time.perf_counter()
        search(index, q, top_k=10)
        search_ms.append((time.perf_counter() - t) * 1000)
    stats = index.stats()
    index.close()
    return {
        "articles": stats["articles"],  # type: ignore[dict-item]
        "chunks": stats["chunks"],  # type: ignore[dict-item]
        "open_s": open_s,
        "ask_p50_ms": float(np.percentile(ask_ms, 50)),
        "ask_p95_ms": float(np.percentile(ask_ms, 95)),
        "search_p50_ms": float(np.percentile(search_ms, 50)),
        "search_p95_ms": float(np.percentile(search_ms, 95)),
        "questions": len(qs) + len(dev),
        "dev_questions": len(dev),
        "answered_share": sum(answered_each) / (len(qs) + len(dev)),
        "ask_over_search_p50": float(np.percentile(ask_ms, 50) / np.percentile(search_ms, 50)),
        **answer_stage(ask_ms, search_ms, answered_each),
        "index_mb": dir_mb(path),
        "rss_before_open_mb": rss_before,
        "rss_after_open_mb": rss_open,
        "rss_after_questions_mb": rss_mb(),
        "peak_rss_mb": peak_rss_mb(),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=2000, help="articles for the throughput part")
    ap.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="repeat the interleaved embedder / pipeline run into this many fresh indexes",
    )
    ap.add_argument(
        "--step", type=int, default=0, help="articles per interleaved step (default: the commit batch)"
    )
    ap.add_argument(
        "--no-words", action="store_true", help="index without the sentences' words, then time `upgrade`"
    )
    ap.add_argument("--latency-articles", type=int, default=20000)
    ap.add_argument("--questions", type=int, default=200, help="generic questions")
    ap.add_argument("--dev-questions", type=int, default=100, help="questions from each dev set")
    ap.add_argument("--embedder", default="use")
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--skip-latency", action="store_true")
    ap.add_argument("--index", type=Path, default=None, help="measure latency on this existing index instead")
    args = ap.parse_args()
    if not CORPUS.exists():
        print(f"skipped: {CORPUS} is absent (the corpora live in ../shared)")
        return 0
    out: dict[str, dict[str, float]] = {}
    if not args.skip_throughput:
        r = out["throughput"] = throughput(
            args.articles, args.embedder, args.rounds, args.step, words=not args.no_words
        )
        print(
            f"| articles | chunks | embedder alone (articles/s) | pipeline (articles/s) | pipeline (chunks/s) "
            f"| pipeline time / embedder time (median of {r['step']:.0f}-article steps) "
            f"| CPU time ratio | index size |\n"
            f"|---|---|---|---|---|---|---|---|\n"
            f"| {r['articles']:.0f} x {r['rounds']:.0f} | {r['chunks']:.0f} | "
            f"{r['embedder_articles_per_s']:.2f} | {r['pipeline_articles_per_s']:.2f} | "
            f"{r['pipeline_chunks_per_s']:.1f} | {r['pipeline_over_embedder']:.3f} "
            f"({r['step_ratio_median']:.3f}) | {r['cpu_pipeline_over_embedder']:.3f} | "
            f"{r['index_mb']:.0f} MB |\n\n"
            f"The pipeline embedded {r['embedded_chars_share']:.1%} of those characters (each repeated "
            f"text once; {r['reused_from_memory_chars_share']:.1%} were held from earlier batches). "
            f"Against the embedder on only those texts: time ratio "
            f"{r['pipeline_over_embedder_on_embedded_texts']:.3f}, CPU time ratio "
            f"{r['cpu_pipeline_over_embedder_on_embedded_texts']:.3f}.\n"
        )
    if not args.skip_latency:
        r = out["latency"] = latency(
            args.latency_articles, args.embedder, args.questions, args.index, args.dev_questions
        )
        print(
            "| articles | chunks | questions | open | ask p50 | ask p95 | search p50 | search p95 "
            "| index on disk | RSS: model loaded → index open → after questions (peak) |\n"
            "|---|---|---|---|---|---|---|---|---|---|\n"
            f"| {r['articles']:.0f} | {r['chunks']:.0f} | {r['questions']:.0f} | {r['open_s']:.1f} s | "
            f"{r['ask_p50_ms']:.0f} ms | {r['ask_p95_ms']:.0f} ms | {r['search_p50_ms']:.0f} ms | "
            f"{r['search_p95_ms']:.0f} ms | {r['index_mb']:.0f} MB | {r['rss_before_open_mb']:.0f} → "
            f"{r['rss_after_open_mb']:.0f} → {r['rss_after_questions_mb']:.0f} ({r['peak_rss_mb']:.0f}) MB |"
        )
        print(
            f"ask p50 / search p50 {r['ask_over_search_p50']:.2f}; the answer stage adds (median per "
            f"question) {r['answer_stage_p50_ms']:.1f} ms: {r['answer_stage_p50_answered_ms']:.1f} ms to "
            f"an answered question, {r['answer_stage_p50_refused_ms']:.1f} ms to a refused one "
            f"({r['answered_share']:.0%} of the questions answered)"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "indexing.json").write_text(json.dumps(out, indent=2), encoding="utf-8")
    shutil.rmtree(RESULTS / "tmp", ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
