"""Look-alike questions: unanswerable questions about a subject the index also holds.

The deleted-source negatives of bench/fit_policy.py are questions whose article is gone; what
is left in the index rarely covers them well. News questions fail another way: 长岭法院院长是谁
asked of an archive holding other courts' presidents (and other news of 长岭), 日本2023年出生人口
of one holding China's. This makes such questions from the dev sets, with no word list: an
answerable question whose proper word (rag.answer.question.proper_words) its own article
names has that word swapped for another question's proper word of the same part of speech
(a person for a person, a place for a place), one the index holds but the article does not.
The question's other words still fit its own article, so the best candidates cover it well
while its subject is elsewhere. A swap whose result may be answerable after all (a candidate
whose article names every proper word holds the original gold answer) is dropped.

Recorded like fit_policy's questions (features of every candidate, label "lookalike"), over
the full dev indexes (no article deleted):

    .venv/bin/python bench/lookalikes.py --index /tmp/dev --features /tmp/lookalikes.jsonl
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.recording import (  # noqa: E402
    SETS,
    SHARED,
    record,
    recording,
    recording_policy,
    require_later_features,
)
from rag import Index, get_embedder  # noqa: E402
from rag.answer import Policy, known_words  # noqa: E402
from rag.answer.question import PROPER_FLAGS, proper_words  # noqa: E402
from rag.errors import NotFoundError  # noqa: E402
from rag.evaluate import QAItem, gold_found, load_qa  # noqa: E402
from rag.normalize import canonical_terms, to_simplified  # noqa: E402
from rag.postag import tagged  # noqa: E402

LABEL = "lookalike"


def subjects(simplified: str, proper: frozenset[str]) -> list[tuple[str, str]]:
    """The question's proper words as written (Simplified), with their part-of-speech flag."""
    out = []
    for a, b, flag in tagged(simplified):
        w = simplified[a:b]
        if flag in PROPER_FLAGS and canonical_terms(w).strip() in proper:
            out.append((w, flag))
    return out


def swapped(
    items: list[QAItem], index: Index, rng: random.Random, limit: int
) -> list[tuple[QAItem, str, str, str]]:
    """Up to `limit` (item, swapped question, word taken out, word put in): the word taken out
    is a proper word its source article names, the one put in another question's proper word
    of the same flag that the index holds and the article does not."""
    known = known_words(index)
    asked = []
    pool: dict[str, list[str]] = defaultdict(list)
    for it in items:
        sim = to_simplified(it.question)
        words = subjects(sim, proper_words(sim, known))
        asked.append((it, sim, words))
        for w, flag in words:
            pool[flag].append(w)
    out = []
    for it, sim, words in asked:
        if len(out) >= limit:
            break
        if not it.source or not words:
            continue
        try:
            art = index.get_article(it.source)
        except NotFoundError:
            continue
        canon = canonical_terms(f"{art.title}\n{art.text}")
        named = [(w, f) for w, f in words if canonical_terms(w).strip() in canon]
        if not named:
            continue
        w, flag = rng.choice(named)
        options = [
            o
            for o in dict.fromkeys(pool[flag])
            if o not in sim and w not in o and o not in w and canonical_terms(o).strip() not in canon
        ]
        if not options:
            continue
        o = rng.choice(options)
        out.append((it, sim.replace(w, o, 1), w, o))
    return out


def maybe_answerable(item: QAItem, row: dict[str, Any]) -> bool:
    """A candidate whose article names every proper word of the swapped question holds the
    original gold answer: the swap may not have made it unanswerable."""
    return any(not d["named_miss"] and gold_found(item, d["text"]) for d in row["sentences"])


def collect(root: Path, limit: int, policy: Policy) -> list[dict[str, Any]]:
    """`limit` look-alike questions per set (from questions fit_policy's recording does not
    ask), recorded with their candidates' features."""
    rec_policy = recording_policy(policy)
    emb = get_embedder("use")
    rng = random.Random(1)
    rows: list[dict[str, Any]] = []
    for set_name, fname in SETS.items():
        items = load_qa(SHARED / "eval" / fname)
        random.Random(0).shuffle(items)  # fit_policy's order: its questions are the first 2 x limit
        index = Index.open(root / set_name, emb, create=False)
        made = dropped = 0
        for it, question, was, put in swapped(items[2 * limit :], index, rng, limit):
            r = record(index, it, LABEL, set_name, rec_policy, question)
            if r is None:
                continue
            if maybe_answerable(it, r):
                dropped += 1
                continue
            rows.append({**r, "swapped": [was, put]})
            made += 1
        index.close()
        print(
            f"{set_name}: recorded {made} look-alike questions ({dropped} dropped: maybe answerable)",
            file=sys.stderr,
        )
    return rows


def lookalike_arguments(ap: argparse.ArgumentParser) -> None:
    """The options of the commands that fit or measure the boundary with look-alikes:
    --lookalikes, --no-lookalikes, --lookalike-weight."""
    ap.add_argument(
        "--lookalikes",
        default=None,
        help="this command's JSONL recording: read it if it exists, else write it",
    )
    ap.add_argument(
        "--no-lookalikes",
        action="store_true",
        help="fit the boundary on deleted-source questions only (as before the look-alikes)",
    )
    ap.add_argument(
        "--lookalike-weight",
        type=float,
        default=1.0,
        help="the weight of each look-alike question in the boundary's fit (a deleted-source one weighs 1)",
    )


def with_lookalikes(
    rows: list[dict[str, Any]], args: argparse.Namespace, policy: Policy
) -> list[dict[str, Any]] | None:
    """`rows` and the look-alike recording (`--lookalikes`, recorded from `--index` with
    `--limit` per set when missing), unless --no-lookalikes; None (and a message) when it
    cannot be recorded here."""
    if args.no_lookalikes:
        return rows
    looks = recording(args.lookalikes, args.index, lambda root: collect(root, args.limit, policy))
    if looks is None:
        return None
    require_later_features(looks, args.lookalikes or "the look-alike recording")
    return rows + looks


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--index", default=str(ROOT / ".zhiwen" / "dev"), help="the dev indexes of bench/devsets.py"
    )
    ap.add_argument("--limit", type=int, default=600, help="look-alike questions per set")
    ap.add_argument("--features", required=True, help="JSONL recording: read it if it exists, else write it")
    args = ap.parse_args()
    rows = recording(args.features, args.index, lambda root: collect(root, args.limit, Policy.load()))
    if rows is None:
        return 0
    for r in rows[:: max(1, len(rows) // 12)]:
        print(f"{r['set']}: {r['question']} ({r['swapped'][0]} -> {r['swapped'][1]})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
