"""Calibrate the "not found" thresholds of `rag.answer` on the dev sets.

Positives: dev questions asked of the dev index (their article is there).
Negatives: the same kind of questions asked after their source articles were deleted
from a copy of the index, so the honest response is "not found"; plus the seeds'
unanswerable questions over the seeds.

For each question it records the best sentence's evidence (question coverage by the
sentence's passage and title, dense similarity) and prints, for candidate thresholds,
the share of answerable questions kept and of unanswerable ones refused.

    .venv/bin/python bench/calibrate.py --limit 150
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))

from rag import Index, get_embedder, read_paths  # noqa: E402
from rag.answer import analyse, gather_evidence  # noqa: E402
from rag.errors import NotFoundError  # noqa: E402
from rag.evaluate import gold_found, load_qa  # noqa: E402


def features(index: Index, question: str) -> dict[str, float | str] | None:
    info = analyse(question)
    ev = gather_evidence(index, info)
    if not ev.sentences:
        return None
    best = max(ev.sentences, key=lambda s: s.score)
    return {
        "ctx": best.ctx_cov,
        "cov": best.cov,
        "dense": best.dense,
        "script": info.script,
        "text": best.text,
    }


SETS = {
    "cmrc2018_dev": ["cmrc2018_dev_qa.jsonl", "cmrc2018_dev_qa_crossscript.jsonl"],
    "drcd_dev": ["drcd_dev_qa.jsonl", "drcd_dev_qa_crossscript.jsonl"],
}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--index", default=str(ROOT / ".zhiwen" / "dev"), help="the dev indexes of bench/devsets.py"
    )
    ap.add_argument("--limit", type=int, default=150, help="questions per QA file")
    ap.add_argument("--out", default=None, help="write the per-question features (JSONL)")
    args = ap.parse_args()
    root = Path(args.index)
    if not (SHARED / "eval").is_dir() or not all((root / s / "BUILT").exists() for s in SETS):
        print("skipped: needs ../shared and the dev indexes (run bench/devsets.py first)")
        return 0
    emb = get_embedder("use")
    rng = random.Random(0)
    rows: list[dict] = []
    copy = root / "calibration-copy"
    for set_name, files in SETS.items():
        index = Index.open(root / set_name, emb)
        negatives = []
        for f in files:
            items = load_qa(SHARED / "eval" / f)
            rng.shuffle(items)
            pos, neg = items[: args.limit], items[args.limit : 2 * args.limit]
            for it in pos:
                feat = features(index, it.question)
                if feat:
                    rows.append(
                        {
                            "set": f,
                            "label": "answerable",
                            **feat,
                            "gold_in_best": gold_found(it, str(feat["text"])),
                        }
                    )
            negatives.extend(neg)
        index.close()
        # negatives: the same kind of questions after their source articles were deleted
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(root / set_name, copy)
        neg_index = Index.open(copy, emb)
        for sid in sorted({it.source for it in negatives if it.source}):
            with contextlib.suppress(NotFoundError):
                neg_index.delete(sid)
        for it in negatives:
            feat = features(neg_index, it.question)
            if feat:
                rows.append({"set": f"{set_name} deleted-source", "label": "unanswerable", **feat})
        neg_index.close()
    shutil.rmtree(copy, ignore_errors=True)
    seeds = Index.open(copy, emb)
    seeds.add(read_paths([ROOT / "seeds"]).articles)
    for it in load_qa(SHARED / "eval" / "seeds_qa.jsonl"):
        feat = features(seeds, it.question)
        if feat:
            rows.append({"set": "seeds", "label": "answerable" if it.answerable else "unanswerable", **feat})
    seeds.close()
    shutil.rmtree(copy, ignore_errors=True)
    if args.out:
        Path(args.out).write_text(
            "\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8"
        )

    zh = [r for r in rows if r["script"] != "en"]
    pos = [r for r in zh if r["label"] == "answerable"]
    neg = [r for r in zh if r["label"] == "unanswerable"]
    print(f"{len(pos)} answerable, {len(neg)} unanswerable (Chinese questions)")
    print("| min coverage | answerable kept | unanswerable refused |\n|---|---|---|")
    for t in (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7):
        kept = sum(r["ctx"] >= t for r in pos) / max(1, len(pos))
        refused = sum(r["ctx"] < t for r in neg) / max(1, len(neg))
        print(f"| {t:.2f} | {kept:.3f} | {refused:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
