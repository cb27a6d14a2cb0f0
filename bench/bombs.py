"""Decompression bombs against a live server, and through `zhiwen index`.

    .venv/bin/python bench/bombs.py [--gb 5] [--concurrency 8] [--skip-cli]

Server part: starts `zhiwen serve` on 127.0.0.1 (fake embedder, the seeds, one worker), then
sends `--concurrency` uploads at once, each a `--gb` GB bomb compressed to a few MB
(`.jsonl.gz` of zeros, `.jsonl.gz` of newlines, `.json` (gzip) of zeros, in turn), while a
client keeps asking `/v1/ask`. Reports every upload's status, the server's RSS before and
at its peak (sampled every 50 ms from /proc), and the /v1/ask answers during the attack.
CLI part: `zhiwen index` on a folder of the same bombs plus one good file, under
`ulimit -v` (2 GB), reporting the time, peak RSS and per-file messages.
Every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.conftest import SEEDS, free_port, serve_command  # noqa: E402

KEY = "bench-bombs-key"
MB = 1 << 20


def make_bomb(path: Path, gb: float, fill: bytes, head: bytes = b"", tail: bytes = b"") -> Path:
    """`gb` GB of `fill` (plus head/tail) gzip-compressed into `path`, written as a stream."""
    if path.exists():
        return path
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip container
    block = fill * (16 * MB // len(fill))
    with path.open("wb") as fh:
        fh.write(comp.compress(head))
        for _ in range(int(gb * 1024 / 16)):
            fh.write(comp.compress(block))
        fh.write(comp.compress(tail))
        fh.write(comp.flush())
    return path


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def server_part(bombs: list[Path], concurrency: int, work: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "ZHIWEN_INDEX": str(work / "index"),
        "ZHIWEN_EMBEDDER": "fake",
        "ZHIWEN_SEEDS": str(SEEDS),
        "ZHIWEN_API_KEY": KEY,
        "ZHIWEN_WORKERS": "1",
        "ZHIWEN_UI": "false",
    }
    proc = subprocess.Popen(
        serve_command(port), env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
            else:
                raise SystemExit("server did not become ready in 120 s")
            client.post("/v1/ask", json={"question": "全会审议通过了什么？"})  # warm up
            before = rss_mb(proc.pid)
            peak = before
            stop = threading.Event()

            def sample() -> None:
                nonlocal peak
                while not stop.is_set():
                    peak = max(peak, rss_mb(proc.pid))
                    time.sleep(0.05)

            asks: list[tuple[int, float]] = []

            def ask_loop() -> None:
                with httpx.Client(base_url=base, timeout=30) as c:
                    while not stop.is_set() and len(asks) < 1000:
                        t0 = time.monotonic()
                        try:
                            status = c.post("/v1/ask", json={"question": "全会审议通过了什么？"}).status_code
                        except httpx.HTTPError:
                            status = 0
                        asks.append((status, time.monotonic() - t0))

            def upload(i: int) -> tuple[str, int, str, float]:
                bomb = bombs[i % len(bombs)]
                name = bomb.name.replace(".gz", "") if bomb.name.endswith(".json.gz") else bomb.name
                t0 = time.monotonic()
                with httpx.Client(base_url=base, timeout=300) as c:
                    r = c.post(
                        "/v1/articles",
                        files={"files": (name, bomb.read_bytes(), "application/octet-stream")},
                        headers={"Authorization": f"Bearer {KEY}"},
                    )
                    status, text = r.status_code, r.text
                    if status == 202:  # a job: poll it (bounded)
                        url = r.json()["url"]
                        for _ in range(600):
                            job = c.get(url).json()
                            if job["status"] in ("succeeded", "failed"):
                                text = job["message"] or str(job["errors"])[:200]
                                status = 422 if job["status"] == "failed" else 200
                                break
                            time.sleep(0.1)
                return name, status, text[:160], time.monotonic() - t0

            threads = [threading.Thread(target=sample), threading.Thread(target=ask_loop)]
            for t in threads:
                t.start()
            t0 = time.monotonic()
            with ThreadPoolExecutor(concurrency) as pool:
                results = list(pool.map(upload, range(concurrency)))
            attack_s = time.monotonic() - t0
            stop.set()
            for t in threads:
                t.join(60)
        print(f"server: {concurrency} concurrent bomb uploads in {attack_s:.1f} s")
        for name, status, text, took in results:
            print(f"  {name}: {status} in {took:.1f} s: {text}")
        ok = [d for s, d in asks if s == 200]
        print(
            f"  RSS before {before:.0f} MB, peak {peak:.0f} MB, growth {peak - before:.0f} MB; "
            f"/v1/ask during the attack: {len(ok)}/{len(asks)} answered, "
            f"max {max(ok, default=0) * 1000:.0f} ms"
        )
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def cli_part(bombs: list[Path], work: Path) -> None:
    folder = work / "hostile"
    folder.mkdir(exist_ok=True)
    for bomb in bombs:
        target = folder / (bomb.name.replace(".json.gz", ".json"))
        if not target.exists():
            target.symlink_to(bomb)
    (folder / "good.jsonl").write_text('{"id": "good-1", "text": "一篇好文章。"}\n', "utf-8")
    (folder / "long-line.txt").write_text("标题\n" + "长" * (40 * MB), "utf-8")
    env = {**os.environ, "ZHIWEN_EMBEDDER": "fake"}
    zhiwen = Path(sys.executable).parent / "zhiwen"
    cmd = f"ulimit -v {2 * 1024 * 1024}; exec /usr/bin/time -f 'peak RSS %M KB, %e s' {zhiwen} index {folder} --index {work / 'cli-index'} -q"
    t0 = time.monotonic()
    proc = subprocess.run(["bash", "-c", cmd], env=env, capture_output=True, text=True, timeout=600)
    print(f"cli: exit {proc.returncode} in {time.monotonic() - t0:.1f} s")
    print("  " + proc.stdout.strip())
    for line in proc.stderr.strip().splitlines():
        print("  " + line[:200])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gb", type=float, default=5.0, help="decompressed size of each bomb")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "zhiwen-bombs")
    ap.add_argument("--skip-cli", action="store_true")
    args = ap.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    gb = args.gb
    bombs = [
        make_bomb(args.cache / f"zeros-{gb:g}g.jsonl.gz", gb, b"\0"),
        make_bomb(args.cache / f"newlines-{gb:g}g.jsonl.gz", gb, b"\n"),
        make_bomb(args.cache / f"zeros-{gb:g}g.json.gz", gb, b"\0", head=b"["),
    ]
    sizes = ", ".join(f"{b.name} {b.stat().st_size / MB:.1f} MB" for b in bombs)
    print(f"bombs ({gb:g} GB each, made in {time.monotonic() - t0:.0f} s): {sizes}")
    work = Path(tempfile.mkdtemp(prefix="zhiwen-bombs-"))
    try:
        server_part(bombs, args.concurrency, work)
        if not args.skip_cli:
            cli_part(bombs, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
