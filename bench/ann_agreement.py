"""End-to-end effect of the ANN structure on `search`: the same questions searched over the
same index with its ANN (what `auto` built) and exactly (the ANN dropped from this process's
view of the segment), comparing the top-1 passage and the top-10 overlap, and the time per
search of each.

    .venv/bin/python bench/ann_agreement.py --index ~/.cache/zhiwen/bench/crud68k
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from indexing import dev_questions  # noqa: E402
from load_server import CORPUS, question_from, read_records  # noqa: E402

from rag import Index, get_embedder, search  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--questions", type=int, default=400, help="generic questions (plus 100 per dev set)")
    args = ap.parse_args()
    if not CORPUS.exists():
        print(f"skipped: {CORPUS} is absent (the corpora live in ../shared)")
        return 0
    recs = read_records(CORPUS, 0, 5000)
    sample = random.Random(0).sample(recs, min(args.questions, len(recs)))
    qs = [q for q in (question_from(str(r["text"])) for r in sample) if len(q) >= 6] + dev_questions(100)
    emb = get_embedder("use")
    results: dict[str, list[list[str]]] = {}
    timing: dict[str, float] = {}
    for mode in ("exact", "ann"):
        index = Index.open(args.index.expanduser(), emb)
        vectors = index.snapshot().segment.vectors
        if vectors.ann is None:
            print("skipped: this index has no ANN structure (checkpoint it at a size where auto builds one)")
            return 0
        if mode == "exact":
            object.__setattr__(vectors, "ann", None)
        search(index, qs[0])
        t = time.perf_counter()
        results[mode] = [[h.chunk_id for h in search(index, q, top_k=10)] for q in qs]
        timing[mode] = (time.perf_counter() - t) / len(qs) * 1000
        index.close()
    pairs = list(zip(results["exact"], results["ann"], strict=True))
    top1 = sum(a[:1] == b[:1] for a, b in pairs) / len(pairs)
    overlap = sum(len(set(a) & set(b)) / max(1, len(a)) for a, b in pairs) / len(pairs)
    print(
        "| questions | same top-1 | top-10 overlap | search ms, exact | search ms, ANN |\n|---|---|---|---|---|"
    )
    print(f"| {len(qs)} | {top1:.3f} | {overlap:.3f} | {timing['exact']:.1f} | {timing['ann']:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
