"""The "not found" curve of the shipped answer policy, measured with the real decision.

Positives: dev questions asked of the dev index (their article is there). Negatives: other
dev questions asked after their source articles were deleted from a copy of the index, so
the honest response is "not found". Each question goes through `rag.answer.gather_evidence`
and `rag.answer.decide` (the policy `ask` uses); the table gives, for thresholds on the
policy's answer probability, the share of answerable questions kept and of deleted-source
questions refused (the policy's own threshold in bold).

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

from rag import Index, get_embedder  # noqa: E402
from rag.answer import decide, gather_evidence  # noqa: E402
from rag.answer import policy as policy_mod  # noqa: E402
from rag.errors import NotFoundError  # noqa: E402
from rag.evaluate import load_qa  # noqa: E402

SETS = {
    "cmrc2018_dev": ["cmrc2018_dev_qa.jsonl", "cmrc2018_dev_qa_crossscript.jsonl"],
    "drcd_dev": ["drcd_dev_qa.jsonl", "drcd_dev_qa_crossscript.jsonl"],
}


def probability(index: Index, question: str) -> float:
    ev = gather_evidence(index, question)
    return decide(ev)[1] if ev.candidates else 0.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", default=str(ROOT / ".zhiwen" / "bench" / "dev"), help="the dev indexes")
    ap.add_argument(
        "--limit", type=int, default=150, help="questions per QA file (each of answerable, deleted)"
    )
    ap.add_argument("--out", default=None, help="write the per-question probabilities (JSONL)")
    ap.add_argument("--seed", type=int, default=1, help="sampling seed (the training dump uses 0)")
    args = ap.parse_args()
    root = Path(args.index)
    if not (SHARED / "eval").is_dir() or not all((root / s / "BUILT").exists() for s in SETS):
        print("skipped: needs ../shared and the dev indexes (run bench/devsets.py first)")
        return 0
    emb = get_embedder("use")
    pol = policy_mod.load()
    rng = random.Random(args.seed)
    rows: list[dict[str, object]] = []
    copy = root / "calibration-copy"
    for set_name, files in SETS.items():
        index = Index.open(root / set_name, emb)
        negatives = []
        for f in files:
            items = load_qa(SHARED / "eval" / f)
            rng.shuffle(items)
            for it in items[: args.limit]:
                rows.append({"set": f, "label": 1, "p": probability(index, it.question)})
            negatives.extend(items[args.limit : 2 * args.limit])
        index.close()
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(root / set_name, copy)
        neg_index = Index.open(copy, emb)
        for sid in sorted({it.source for it in negatives if it.source}):
            with contextlib.suppress(NotFoundError):
                neg_index.delete(sid)
        for it in negatives:
            rows.append(
                {"set": f"{set_name} deleted-source", "label": 0, "p": probability(neg_index, it.question)}
            )
        neg_index.close()
        shutil.rmtree(copy, ignore_errors=True)
    if args.out:
        Path(args.out).write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    pos = [float(r["p"]) for r in rows if r["label"] == 1]  # type: ignore[arg-type]
    neg = [float(r["p"]) for r in rows if r["label"] == 0]  # type: ignore[arg-type]
    print(f"{len(pos)} answerable, {len(neg)} deleted-source questions; policy {pol.version}")
    print("| answer probability at least | answerable kept | deleted-source refused |\n|---|---|---|")
    ts = sorted({0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, round(pol.nf_threshold, 3)})
    for t in ts:
        kept = sum(p >= t for p in pos) / max(1, len(pos))
        refused = sum(p < t for p in neg) / max(1, len(neg))
        row = f"{t:.3f} | {kept:.3f} | {refused:.3f}"
        print(f"| **{row.replace(' | ', '** | **')}** |" if t == round(pol.nf_threshold, 3) else f"| {row} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
