"""Time from `zhiwen serve --workers N` to `/readyz` true, for this tree and, alternating
start by start, another checkout of the project (a reference in the same minutes: this
machine's speed drifts by up to 2x from one hour to the next, so two trees measured one
after the other can differ by more than the change being measured).

    git worktree add /tmp/reftree <rev>
    .venv/bin/python bench/readiness.py --index ~/.cache/zhiwen/bench/crud68k --against /tmp/reftree

Both trees run with this interpreter (same packages). The index is only opened, never
written, so it is served in place. The servers are bench/load_server.py's (polling `/readyz`
every 50 ms); their logs go to a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from load_server import Server  # noqa: E402


def time_to_ready(tree: Path, index: Path, workers: int, log: Path) -> float:
    server = Server(index, None, secrets.token_hex(8), log, workers, root=tree)
    try:
        return server.wait_ready(timeout=120)
    finally:
        server.stop()
        time.sleep(1.0)  # let the ports and page cache settle between starts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", type=Path, required=True, help="an existing index (e.g. bench/corpus.py's)")
    ap.add_argument("--against", type=Path, help="another checkout of the project, started in turn")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=6, help="starts per tree")
    args = ap.parse_args()
    if not (args.index / "manifest.json").exists():
        raise SystemExit(f"no index at {args.index}; build one first (bench/corpus.py or `zhiwen index`)")
    trees = {"this tree": ROOT}
    if args.against:
        if not (args.against / "server").is_dir():
            raise SystemExit(f"{args.against} is not a checkout of this project (no server/ in it)")
        trees["reference"] = args.against.resolve()
    times: dict[str, list[float]] = {name: [] for name in trees}
    logs = Path(tempfile.mkdtemp(prefix="zhiwen-readiness-"))
    for r in range(args.rounds):
        for name, tree in trees.items():
            log = logs / f"{len(times[name])}-{Path(tree).name}.log"
            times[name].append(time_to_ready(tree, args.index, args.workers, log))
        print(f"round {r + 1}: " + ", ".join(f"{n} {t[-1]:.2f} s" for n, t in times.items()), flush=True)
    print(f"\n`/readyz` true after `zhiwen serve --workers {args.workers}`, index {args.index}")
    print("\n| tree | median (s) | starts (s) |\n|---|---:|---|")
    for name, t in times.items():
        print(f"| {name} ({trees[name]}) | {statistics.median(t):.2f} | {', '.join(f'{x:.2f}' for x in t)} |")
    out = ROOT / "bench" / "results" / f"readiness-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({n: {"tree": str(trees[n]), "seconds": t} for n, t in times.items()}, indent=2))
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
