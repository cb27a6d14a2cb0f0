"""Load test of a live `zhiwen` server: `/v1/ask` throughput and p50/p99 latency at several
concurrency levels, then again while a background ingest runs.

    .venv/bin/python bench/load_server.py                       # 20,000 CRUD articles, USE embedder
    .venv/bin/python bench/load_server.py --articles 300 --duration 10 --ingest-articles 100
    .venv/bin/python bench/load_server.py --index ~/.cache/zhiwen/bench/crud68k --workers 2 \
        --concurrency 1,8 --ingest-articles 300            # the whole-corpus index (bench/corpus.py)

The base index (first N articles of ../shared/corpora/crud_news_2023.jsonl.gz) is built once
under .zhiwen/bench/ and reused; each run serves a fresh copy of it, so the ingest phase always
adds new articles. Questions are the first sentences of randomly chosen indexed articles.
With `--index` an existing index (e.g. the 68k one of bench/corpus.py) is served instead
(a copy), questions come from the corpus's first articles, and the uploaded articles get
ids of their own so they are new to it. Also reported: the time from starting the server
to `/readyz` true, and each server process's RSS and PSS (PSS counts the shared, mapped
index pages once across the processes).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpora" / "crud_news_2023.jsonl.gz"
RESULTS = ROOT / "bench" / "results"
_SENTENCE = re.compile(r"[^。！？!?\n]{8,}[。！？!?]")


def read_records(path: Path, start: int, count: int) -> list[dict[str, Any]]:
    """Records [start, start+count) of the corpus that have text."""
    out: list[dict[str, Any]] = []
    seen = 0
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            if not str(rec.get("text") or "").strip():
                continue
            if seen >= start:
                out.append(rec)
                if len(out) >= count:
                    break
            seen += 1
    return out


def question_from(text: str) -> str:
    """A generic question: the article's first full sentence (trimmed), else its first 40 characters."""
    match = _SENTENCE.search(text[:600])
    sentence = match.group(0) if match else text[:40]
    sentence = re.sub(r"\s+", " ", sentence).strip()
    return sentence[:80]


def build_base_index(args: argparse.Namespace) -> tuple[Path, list[str]]:
    from rag import Index, get_embedder, parse_records

    base = (
        ROOT
        / ".zhiwen"
        / "bench"
        / f"crud-{args.articles}-{args.embedder.replace(':', '_').replace('/', '_')}"
    )
    meta_path = base / "bench_meta.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("articles") == args.articles:
            print(f"reusing base index {base} ({args.articles} articles)")
            return base / "index", meta["questions"]
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    print(f"building base index of {args.articles} articles at {base} (embedder {args.embedder}) ...")
    t0 = time.perf_counter()
    records = read_records(CORPUS, 0, args.articles)
    parsed = parse_records(records, CORPUS.name)
    index = Index.open(base / "index", get_embedder(args.embedder), create=True)
    stats = index.add(parsed.articles, progress=True)
    index.close()
    took = time.perf_counter() - t0
    print(f"  {stats.added} articles, {stats.chunks} chunks in {took:.0f} s")
    rng = random.Random(0)
    sample = rng.sample(parsed.articles, min(500, len(parsed.articles)))
    questions = [q for q in (question_from(a.text) for a in sample) if len(q) >= 6]
    meta = {"articles": args.articles, "chunks": stats.chunks, "build_s": took, "questions": questions}
    meta_path.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return base / "index", questions


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def existing_index(args: argparse.Namespace) -> tuple[Path, list[str]]:
    records = read_records(CORPUS, 0, 5000)
    rng = random.Random(0)
    sample = rng.sample(records, min(500, len(records)))
    questions = [q for q in (question_from(str(r["text"])) for r in sample) if len(q) >= 6]
    return Path(args.index).expanduser(), questions


def memory(pid: int) -> list[dict[str, Any]]:
    """RSS and PSS (MB) of the server process and its children (the workers)."""
    procs = [pid]
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                procs.append(int(d.name))
    out = []
    for p in procs:
        try:
            rollup = Path(f"/proc/{p}/smaps_rollup").read_text()
        except OSError:
            continue
        fields = {
            line.split(":")[0]: int(line.split()[1])
            for line in rollup.splitlines()[1:]
            if line.endswith("kB")
        }
        out.append(
            {
                "pid": p,
                "role": "parent" if p == pid else "worker",
                "rss_mb": round(fields.get("Rss", 0) / 1024, 1),
                "pss_mb": round(fields.get("Pss", 0) / 1024, 1),
            }
        )
    return out


class Server:
    """`zhiwen serve` on a free loopback port, run from the checkout `root` (this one by
    default; bench/readiness.py starts another in turn), logging to `log`."""

    def __init__(
        self, index: Path, embedder: str | None, api_key: str, log: Path, workers: int = 1, root: Path = ROOT
    ) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "ZHIWEN_API_KEY": api_key,
            "ZHIWEN_UI": "false",
            "PYTHONPATH": str(root),
            # big uploads run as background jobs
            "ZHIWEN_BACKGROUND_UPLOAD_BYTES": "1024",
            "ZHIWEN_MAX_UPLOAD_MB": "200",
        }
        cmd = [sys.executable, "-m", "server", "--host", "127.0.0.1", "--port", str(self.port)]
        cmd += ["--index", str(index), "--no-ui", "--workers", str(workers)]
        cmd += ["--embedder", embedder] if embedder else []  # none: the one the index names
        self._log = open(log, "wb")  # closed in stop()
        self.started = time.monotonic()
        self.proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 600) -> float:
        """Seconds from the start of the process to `/readyz` true."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"server exited with {self.proc.returncode}; see {self._log.name}")
            try:
                if httpx.get(f"{self.base}/readyz", timeout=5).status_code == 200:
                    return time.monotonic() - self.started
            except httpx.HTTPError:
                pass
            time.sleep(0.05)  # the target is 3 s: poll finely enough not to add to it
        raise SystemExit(f"server not ready after {timeout} s; see {self._log.name}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


def run_load(
    base: str,
    questions: list[str],
    concurrency: int,
    *,
    duration: float,
    max_requests: int,
    top_k: int,
    stop: threading.Event | None = None,
) -> dict[str, Any]:
    """`concurrency` threads asking until `duration` s, `max_requests` or `stop`."""
    lock = threading.Lock()
    latencies: list[float] = []
    errors: dict[str, int] = {}
    issued = [0]
    rng = random.Random(concurrency)
    deadline = time.monotonic() + duration

    def worker() -> None:
        with httpx.Client(base_url=base, timeout=120) as client:
            while time.monotonic() < deadline and not (stop is not None and stop.is_set()):
                with lock:
                    if issued[0] >= max_requests:
                        return
                    issued[0] += 1
                    question = rng.choice(questions)
                t0 = time.perf_counter()
                try:
                    r = client.post("/v1/ask", json={"question": question, "top_k": top_k})
                    ok = r.status_code == 200 and isinstance(r.json().get("answered"), bool)
                    key = None if ok else f"HTTP {r.status_code}"
                except (httpx.HTTPError, ValueError) as exc:
                    key = type(exc).__name__
                took = time.perf_counter() - t0
                with lock:
                    if key is None:
                        latencies.append(took)
                    else:
                        errors[key] = errors.get(key, 0) + 1

    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        for _ in range(concurrency):
            pool.submit(worker)
    wall = time.perf_counter() - t0
    lat = sorted(latencies)

    def pct(p: float) -> float:
        return lat[min(len(lat) - 1, round(p * (len(lat) - 1)))] * 1000 if lat else float("nan")

    return {
        "concurrency": concurrency,
        "requests": len(lat) + sum(errors.values()),
        "ok": len(lat),
        "errors": errors,
        "wall_s": round(wall, 2),
        "throughput_rps": round(len(lat) / wall, 2) if wall else 0.0,
        "p50_ms": round(pct(0.50), 1),
        "p99_ms": round(pct(0.99), 1),
        "mean_ms": round(statistics.fmean(lat) * 1000, 1) if lat else float("nan"),
    }


def ingest_phase(
    server: Server, api_key: str, questions: list[str], args: argparse.Namespace
) -> tuple[dict[str, Any], dict[str, Any]]:
    if args.index:  # every corpus article may be in it: upload copies under ids of their own
        records = [
            {**r, "id": f"load-{i}-{r.get('id', '')}"}
            for i, r in enumerate(read_records(CORPUS, 0, args.ingest_articles))
        ]
    else:
        records = read_records(CORPUS, args.articles, args.ingest_articles)
    data = "\n".join(json.dumps(r, ensure_ascii=False) for r in records).encode("utf-8")
    headers = {"Authorization": f"Bearer {api_key}"}
    r = httpx.post(
        f"{server.base}/v1/articles",
        files=[("files", ("bench-ingest.jsonl", data, "application/x-ndjson"))],
        headers=headers,
        timeout=300,
    )
    if r.status_code != 202:
        raise SystemExit(f"ingest upload returned {r.status_code}: {r.text[:300]}")
    job_id = r.json()["job_id"]
    t0 = time.perf_counter()
    done = threading.Event()
    job: dict[str, Any] = {}

    def poll() -> None:
        while True:
            job.update(httpx.get(f"{server.base}/v1/jobs/{job_id}", timeout=30).json())
            if job["status"] in ("succeeded", "failed"):
                job["took_s"] = round(time.perf_counter() - t0, 2)
                done.set()
                return
            time.sleep(0.5)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    load = run_load(
        server.base,
        questions,
        args.ingest_concurrency,
        duration=args.ingest_max_s,
        max_requests=args.max_requests * 10,
        top_k=args.top_k,
        stop=done,
    )
    load["ingest_running_until_s"] = job.get("took_s")
    poller.join(timeout=args.ingest_max_s + 600)
    added = (job.get("result") or {}).get("added", 0)
    summary = {
        "articles": len(records),
        "status": job.get("status"),
        "added": added,
        "took_s": job.get("took_s"),
        "articles_per_s": round(added / job["took_s"], 1) if job.get("took_s") else None,
        "errors": len(job.get("errors") or []),
    }
    return load, summary


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--articles", type=int, default=20000, help="articles in the base index")
    p.add_argument("--embedder", default="use", help="use (default) | st:NAME | fake")
    p.add_argument("--index", default=None, help="serve (a copy of) this existing index instead")
    p.add_argument("--workers", type=int, default=1, help="server worker processes (zhiwen serve --workers)")
    p.add_argument("--concurrency", default="1,8,32", help="comma-separated levels")
    p.add_argument("--duration", type=float, default=30.0, help="seconds per level (at most)")
    p.add_argument("--max-requests", type=int, default=1000, help="requests per level (at most)")
    p.add_argument("--warmup", type=int, default=10, help="unmeasured requests first")
    p.add_argument(
        "--ready-runs",
        type=int,
        default=0,
        help="first start and stop the server this many times, after the copy has settled, and report "
        "the median time to /readyz (the measured run's own start follows a 3 GB copy)",
    )
    p.add_argument("--top-k", type=int, default=5)
    p.add_argument(
        "--ingest-articles", type=int, default=1000, help="articles uploaded during the ingest phase"
    )
    p.add_argument("--ingest-concurrency", type=int, default=8)
    p.add_argument("--ingest-max-s", type=float, default=600.0, help="longest load window during the ingest")
    args = p.parse_args()
    if not CORPUS.exists():
        raise SystemExit(f"{CORPUS} is absent: the benchmark corpus lives in ../shared beside the project")

    base_index, questions = existing_index(args) if args.index else build_base_index(args)
    work = Path(tempfile.mkdtemp(prefix="zhiwen-load-"))
    shutil.copytree(base_index, work / "index")
    shutil.rmtree(work / "index.jobs", ignore_errors=True)
    api_key = secrets.token_urlsafe(16)
    log = work / "server.log"
    print(f"starting server on a copy of the index ({work}); log {log}")
    if args.ready_runs:
        subprocess.run(["sync"], check=False)
        times = []
        for _ in range(args.ready_runs):
            probe = Server(work / "index", args.embedder, api_key, log, args.workers)
            try:
                times.append(probe.wait_ready())
            finally:
                probe.stop()
        print(
            f"ready in {statistics.median(times):.2f} s (median of {len(times)} starts: {[round(t, 2) for t in times]})"
        )
    server = Server(work / "index", args.embedder, api_key, log, args.workers)
    rows: list[dict[str, Any]] = []
    ingest: dict[str, Any] = {}
    mem: list[dict[str, Any]] = []
    try:
        ready_s = server.wait_ready()
        print(f"ready in {ready_s:.1f} s")
        run_load(server.base, questions, 1, duration=60, max_requests=args.warmup, top_k=args.top_k)
        for level in (int(x) for x in args.concurrency.split(",")):
            row = run_load(
                server.base,
                questions,
                level,
                duration=args.duration,
                max_requests=args.max_requests,
                top_k=args.top_k,
            )
            row["phase"] = "idle"
            rows.append(row)
            print(
                f"  concurrency {level}: {row['throughput_rps']} req/s, p50 {row['p50_ms']} ms, p99 {row['p99_ms']} ms"
            )
        mem = memory(server.proc.pid)
        row, ingest = ingest_phase(server, api_key, questions, args)
        row["phase"] = f"during ingest of {ingest['articles']} articles"
        rows.append(row)
        stats = httpx.get(f"{server.base}/readyz", timeout=30).json()
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)

    print()
    what = f"index {args.index}" if args.index else f"{args.articles:,} CRUD articles"
    print(
        f"`/v1/ask`, {what}, embedder `{args.embedder}`, top_k {args.top_k}, "
        f"{args.workers} worker(s), {os.cpu_count()} CPUs; ready in {ready_s:.1f} s"
    )
    print()
    print("| phase | concurrency | requests | errors | throughput (req/s) | p50 (ms) | p99 (ms) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        n_err = sum(r["errors"].values())
        print(
            f"| {r['phase']} | {r['concurrency']} | {r['requests']} | {n_err} | {r['throughput_rps']} "
            f"| {r['p50_ms']} | {r['p99_ms']} |"
        )
    print()
    print(
        f"ingest: {ingest.get('added')} of {ingest.get('articles')} articles added in {ingest.get('took_s')} s "
        f"({ingest.get('articles_per_s')} articles/s), status {ingest.get('status')}; "
        f"index after: {stats.get('articles')} articles, {stats.get('chunks')} chunks"
    )
    print()
    print("| process | RSS (MB) | PSS (MB) |")
    print("|---|---:|---:|")
    for m in mem:
        print(f"| {m['role']} {m['pid']} | {m['rss_mb']} | {m['pss_mb']} |")
    RESULTS.mkdir(parents=True, exist_ok=True)
    tag = Path(args.index).name if args.index else args.articles
    out = RESULTS / f"load_server-{tag}-w{args.workers}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(
        json.dumps(
            {
                "args": {k: v for k, v in vars(args).items()},
                "cpus": os.cpu_count(),
                "rows": rows,
                "ingest": ingest,
                "index_after": stats,
                "ready_s": ready_s,
                "memory": mem,
            },
            ensure_ascii=False,
            indent=2,
        ),
        encoding="utf-8",
    )
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
