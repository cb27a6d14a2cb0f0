"""How well rag.transliteration finds a foreign name spelled by sound, and how often by chance;
sets `terms.en_name_classes` in rag/answer/policy.json from that. The same for a romanized
Chinese name found by its syllables' characters (rag.english.pinyin_sound), which sets
`terms.en_pinyin_syllables`.

Names: CC-CEDICT's entries of foreign people ("Moses (name)": 摩西), the Latin name not the
headword's own pinyin, each found (`spells`) in a sentence made of it ("他说摩西表示"); recall is
the share found. Chance: each of a sample of those names looked for in news passages that do not
hold its spelling (the first 600 characters of every 150th article of
../shared/corpora/crud_news_2023.jsonl.gz); the share of (name, passage) pairs found. For each
least skeleton length (`min_classes`) both are reported; with --write, the smallest length whose
chance share is at most --chance goes into the policy (default 0.05: the share of answerable
questions the issue lets the "not found" decision refuse, 1 − 0.95, so that a name found by
chance costs no more often than a refusal does), the table under `fitted.en_name_classes`.

Romanized names: CC-CEDICT's proper names of two to five characters whose Latin name is their
own pinyin (Baoshan: 保山), found the same ways; for each least number of syllables the share
found by chance, and with --write the smallest with chance at most --chance goes into
`terms.en_pinyin_syllables` (the table under `fitted.en_pinyin_syllables`).

    .venv/bin/python bench/transliteration.py [--write]
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import itertools
import json
import random
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.recording import SHARED  # noqa: E402
from rag.answer import Policy  # noqa: E402
from rag.answer.policy import POLICY_FILE, write_policy  # noqa: E402
from rag.bm25 import cut  # noqa: E402
from rag.cedict_table import dictionary_entries  # noqa: E402
from rag.english import pinyin_sound  # noqa: E402
from rag.normalize import canonical_terms  # noqa: E402
from rag.transliteration import spells  # noqa: E402

CORPUS = SHARED / "corpora" / "crud_news_2023.jsonl.gz"
_PERSON = re.compile(r"^([A-Z][a-z]+) \((?:name|surname)\)")


def foreign_names() -> list[tuple[str, str]]:
    """(Latin name, Chinese spelling) of CC-CEDICT's foreign people: a proper noun of two to six
    characters defined as "X (name)", X not its own pinyin (Moses: 摩西, not Baoshan: 保山)."""
    out = []
    for e in dictionary_entries():
        head, pinyin = e["simplified"], e["pinyin"]
        if not (2 <= len(head) <= 6 and pinyin[:1].isupper() and re.fullmatch(r"[\u4e00-\u9fff]+", head)):
            continue
        if (m := _PERSON.match(e["definitions"][0])) and m.group(1).lower() != re.sub(
            r"[\d ]", "", pinyin.lower()
        ):
            out.append((m.group(1), head))
    return out


def pinyin_names() -> list[tuple[str, str]]:
    """(Latin name, Chinese spelling) of CC-CEDICT's proper names of two to five characters
    whose Latin name is their own pinyin, toneless and joined (Baoshan: 保山)."""
    out = []
    for e in dictionary_entries():
        head, pinyin = e["simplified"], e["pinyin"]
        latin = re.sub(r"[\d ]", "", pinyin.lower())
        if (
            pinyin[:1].isupper()
            and re.fullmatch(r"[\u4e00-\u9fff]{2,5}", head)
            and re.fullmatch("[a-z]+", latin)
        ):
            out.append((latin, head))
    return out


def pinyin_rows(
    rng: random.Random, texts: list[str], lengths: list[int], most_names: int, chance_names: int
) -> list[dict[str, float]]:
    """Recall and chance share of `pinyin_sound` for each least number of syllables."""
    names = pinyin_names()
    sample = rng.sample(names, min(most_names, len(names)))
    others = rng.sample(names, min(chance_names, len(names)))
    rows = []
    print(
        f"\n{len(names)} romanized names in CC-CEDICT; recall on {len(sample)}, chance on {len(others)} x {len(texts)}"
    )
    print("| least syllables | recall | chance per passage |\n|---|---|---|")
    for k in lengths:
        found = 0
        for lat, head in sample:
            sound = pinyin_sound(lat, k)
            found += bool(sound and sound.search(f"他说{head}表示"))
        pairs = [(pinyin_sound(lat, k), text) for lat, head in others for text in texts if head not in text]
        chance = sum(bool(p and p.search(text)) for p, text in pairs) / len(pairs)
        rows.append({"min_syllables": k, "recall": round(found / len(sample), 4), "chance": round(chance, 4)})
        print(f"| {k} | {found / len(sample):.3f} | {chance:.4f} |")
    return rows


def passages(every: int, chars: int, most: int) -> list[str]:
    with gzip.open(CORPUS, "rt", encoding="utf-8") as f:
        picked = itertools.islice(itertools.islice(f, 0, None, every), most)
        return [canonical_terms(json.loads(line)["text"][:chars]) for line in picked]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--names", type=int, default=600, help="names sampled for recall")
    ap.add_argument("--chance-names", type=int, default=100, help="names sampled for chance finds")
    ap.add_argument("--passages", type=int, default=150, help="news passages for chance finds")
    ap.add_argument("--chance", type=float, default=0.05, help="most chance share to accept (see above)")
    ap.add_argument("--lengths", default="2,3,4,5", help="least skeleton lengths to measure")
    ap.add_argument(
        "--syllables", default="2,3,4", help="least syllable counts of romanized names to measure"
    )
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--write", action="store_true", help="set terms.en_name_classes in the policy")
    ap.add_argument("--out", default=str(POLICY_FILE))
    args = ap.parse_args()
    if not CORPUS.exists():
        print(f"skipped: {CORPUS} is missing (../shared beside the repo holds it)")
        return 0
    rng = random.Random(args.seed)
    names = foreign_names()
    sample = rng.sample(names, min(args.names, len(names)))
    chance_names = rng.sample(names, min(args.chance_names, len(names)))
    texts = [(t, cut(t)) for t in passages(150, 600, args.passages)]
    rows = []
    print(
        f"{len(names)} foreign names in CC-CEDICT; recall on {len(sample)}, chance on "
        f"{len(chance_names)} x {len(texts)} passages"
    )
    print("| least classes | recall | chance per passage |\n|---|---|---|")
    for k in (int(x) for x in args.lengths.split(",")):
        recall = sum(spells(lat, cut(f"他说{head}表示"), k) for lat, head in sample) / len(sample)
        pairs = [(lat, words) for lat, head in chance_names for text, words in texts if head not in text]
        chance = sum(spells(lat, words, k) for lat, words in pairs) / len(pairs)
        rows.append({"min_classes": k, "recall": round(recall, 4), "chance": round(chance, 4)})
        print(f"| {k} | {recall:.3f} | {chance:.4f} |")
    ok = [r for r in rows if r["chance"] <= args.chance]
    syllable_rows = pinyin_rows(
        rng, [t for t, _ in texts], [int(x) for x in args.syllables.split(",")], args.names, args.chance_names
    )
    ok_syllables = [r for r in syllable_rows if r["chance"] <= args.chance]
    if not ok or not ok_syllables:
        print(f"no length keeps chance finds at most {args.chance}: policy unchanged")
        return 1
    chosen = min(ok, key=lambda r: r["min_classes"])
    syllables = min(ok_syllables, key=lambda r: r["min_syllables"])
    print(
        f"chosen: {chosen['min_classes']} classes, {syllables['min_syllables']} syllables (the least with chance <= {args.chance})"
    )
    if args.write:
        policy = Policy.load(Path(args.out))
        fitted = {
            **policy.fitted,
            "en_name_classes": {"chance_at_most": args.chance, "table": rows},
            "en_pinyin_syllables": {"chance_at_most": args.chance, "table": syllable_rows},
        }
        terms = dataclasses.replace(
            policy.terms,
            en_name_classes=chosen["min_classes"],
            en_pinyin_syllables=syllables["min_syllables"],
        )
        write_policy(dataclasses.replace(policy, terms=terms, fitted=fitted), Path(args.out))
        print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
