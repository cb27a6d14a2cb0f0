"""The evaluation sets stay measuring sticks: no answer of theirs is written into `rag/`.

The answers issue asks that a grep of `rag/` for an entity of any evaluation set finds
nothing — no rule, alias, word list, example or comment keyed to a question it is measured
on. Checked here for every gold answer of the seed questions and, of at least three Chinese
characters, of the dev sets and of the held-out news sets (bench/english; shorter ones are
common words), in every source and data file of the package."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.conftest import ROOT, shared_path

_CJK = re.compile(r"[\u4e00-\u9fff·]+")


def _gold(path: Path) -> set[str]:
    out: set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        for key in ("answers", "answers_all"):
            for a in rec.get(key) or ():
                out.update(x.strip() for x in (a if isinstance(a, list) else [a]) if isinstance(x, str))
    return out


def _package_texts() -> dict[str, str]:
    files = [p for p in (ROOT / "rag").rglob("*") if p.suffix in {".py", ".json", ".txt"}]
    return {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8", errors="replace") for p in files}


def _named(strings: set[str], texts: dict[str, str]) -> dict[str, list[str]]:
    return {f: hits for f, t in texts.items() if (hits := sorted(s for s in strings if s in t))}


def test_no_gold_answer_of_an_evaluation_set_is_written_in_the_package() -> None:
    seeds = {g for g in _gold(shared_path("eval", "seeds_qa.jsonl")) if len(g) >= 2 and _CJK.fullmatch(g)}
    dev = {
        g
        for name in ("cmrc2018_dev_qa.jsonl", "drcd_dev_qa.jsonl")
        for g in _gold(shared_path("eval", name))
        if len(g) >= 3 and _CJK.fullmatch(g)
    }
    assert len(seeds) > 10 and len(dev) > 1000  # the sets were read
    texts = _package_texts()
    assert "rag/span.py" in texts and "rag/answer/policy.json" in texts
    assert _named(seeds | dev, texts) == {}


def test_no_gold_answer_of_the_news_sets_is_written_in_the_package() -> None:
    """The held-out news sets of bench/english (written in the repository, measured on like the
    dev sets): none of their answers of at least three Chinese characters is in `rag/`."""
    news = {
        g
        for path in sorted((ROOT / "bench" / "english").glob("*.jsonl"))
        for g in _gold(path)
        if len(g) >= 3 and _CJK.fullmatch(g)
    }
    assert len(news) > 200  # the sets were read
    assert _named(news, _package_texts()) == {}


def test_the_scan_finds_an_answer_where_one_is_written() -> None:
    """The check itself: an answer copied into a file is found."""
    dev = _gold(shared_path("eval", "cmrc2018_dev_qa.jsonl"))
    answer = next(g for g in sorted(dev) if len(g) >= 3 and _CJK.fullmatch(g))
    assert _named({answer}, {"x.py": f"# e.g. {answer}\n"}) == {"x.py": [answer]}
