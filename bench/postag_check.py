"""Check that rag.postag's tags are jieba's (`jieba.posseg.lcut`) on news no test uses.

Every sentence of `--articles` CRUD articles from `--start` (the corpus in ../shared), in its
Simplified form as the index tags it, is tagged by rag.postag and by jieba's own tagger; the
command prints how many sentences differ and the first few, and exits 1 if any does.

    .venv/bin/python bench/postag_check.py --start 2000 --articles 1024
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from load_server import CORPUS, read_records  # noqa: E402

from rag import parse_records  # noqa: E402
from rag.chunk import MAX_SENTENCE_CHARS, sentence_units  # noqa: E402
from rag.normalize import simplify_with_map  # noqa: E402
from rag.postag import pos_tags, warm_up  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--start", type=int, default=2000, help="first article of the corpus")
    ap.add_argument("--articles", type=int, default=1024)
    args = ap.parse_args()
    if not CORPUS.exists():
        print(f"{CORPUS} is missing: put ../shared beside the project to run this check")
        return 2
    import jieba.posseg

    articles = parse_records(read_records(CORPUS, args.start, args.articles), CORPUS.name).articles
    sentences = [
        simplify_with_map(a.text[x:y])[0]
        for a in articles
        for x, y in sentence_units(a.text, MAX_SENTENCE_CHARS)
    ]
    warm_up()
    t = time.perf_counter()
    ours = [pos_tags(s) for s in sentences]
    took = time.perf_counter() - t
    differ = [
        (s, got)
        for s, got in zip(sentences, ours, strict=True)
        if got != [(p.word, p.flag) for p in jieba.posseg.lcut(s)]
    ]
    print(
        f"{len(articles)} articles, {len(sentences)} sentences tagged in {took:.2f} s; {len(differ)} differ from jieba"
    )
    for s, got in differ[:5]:
        print(f"  {s[:60]!r}: {got[:8]}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
