"""`zhiwen serve --workers 2`: worker processes share the index, see each other's writes,
and /metrics counts the requests of every worker."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from rag.settings import Settings
from server import worker_environment
from tests.conftest import running_server
from tests.server.server_helpers import API_KEY, AUTH, served_env


def _alive(pid: int) -> bool:
    """The process exists and is not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _children(pid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(d.name))
    return out


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    tmp = tmp_path_factory.mktemp("workers")
    # uploads over 200 bytes run as jobs
    env = served_env(tmp / "index", ZHIWEN_API_KEY=API_KEY, ZHIWEN_BACKGROUND_UPLOAD_BYTES="200")
    with running_server(tmp, env, workers=2) as served:
        yield served


def test_two_worker_processes_serve(two_workers: tuple[str, subprocess.Popen[bytes]]) -> None:
    _base, proc = two_workers
    assert len(_children(proc.pid)) >= 2


def test_a_write_through_one_worker_is_seen_by_every_worker(
    two_workers: tuple[str, subprocess.Popen[bytes]],
) -> None:
    base, _proc = two_workers
    article = {
        "id": "workers-1",
        "title": "麒麟湾码头开港",
        "text": "麒麟湾码头今天正式开港，首批货轮靠泊。" * 20,
    }
    with httpx.Client(base_url=base, timeout=30) as c:
        r = c.post("/v1/articles", json={"articles": [article]}, headers=AUTH)
        assert r.status_code == 202, r.text  # a job, run by whichever worker took the upload
        job_id = r.json()["job_id"]
    deadline = time.monotonic() + 60
    while True:  # any worker answers for the job
        with httpx.Client(base_url=base, timeout=30) as fresh:
            r = fresh.get(f"/v1/jobs/{job_id}", headers=AUTH)
        assert r.status_code == 200, r.text
        if r.json()["status"] in ("succeeded", "failed"):
            assert r.json()["status"] == "succeeded", r.text
            break
        assert time.monotonic() < deadline, "the upload job did not finish"
        time.sleep(0.2)
    with httpx.Client(base_url=base, timeout=30) as c:
        # new connections each time, so both workers answer some of these
        for _ in range(16):
            with httpx.Client(base_url=base, timeout=30) as fresh:
                hits = fresh.post("/v1/search", json={"query": "麒麟湾码头开港", "top_k": 3}).json()["hits"]
                assert hits and hits[0]["article_id"] == "workers-1"


def test_metrics_count_the_requests_of_every_worker(two_workers: tuple[str, subprocess.Popen[bytes]]) -> None:
    base, _proc = two_workers

    def healthz_count() -> float:
        text = httpx.get(f"{base}/metrics", timeout=30).text
        m = re.search(
            r'zhiwen_http_requests_total\{method="GET",route="/healthz",status="200"\} ([0-9.e+]+)', text
        )
        return float(m.group(1)) if m else 0.0

    before = healthz_count()
    for _ in range(30):
        with httpx.Client(base_url=base, timeout=30) as fresh:
            assert fresh.get("/healthz").status_code == 200
    assert healthz_count() - before == 30


def test_job_reports_are_shared_between_registries(tmp_path: Path) -> None:
    """Two registries (two worker processes) sharing a folder answer for each other's jobs."""
    import json
    import threading

    from rag.records import AddStats
    from server.jobs import JobRegistry

    a, b = JobRegistry(shared_dir=tmp_path), JobRegistry(shared_dir=tmp_path)
    release = threading.Event()

    def work(ctx):  # type: ignore[no-untyped-def]
        ctx.phase("indexing", 3)
        release.wait(10)
        return AddStats(added=3, chunks=6)

    job = a.submit("upload", work)
    seen = b.get(job.id)
    assert seen is not None and seen["status"] in ("queued", "running")
    release.set()
    assert a.wait(10)
    done = b.get(job.id)
    assert done is not None and done["status"] == "succeeded" and done["result"]["added"] == 3
    assert [j["id"] for j in b.list()] == [job.id]
    # a job whose process died is reported failed, not running forever
    (tmp_path / "deadbeef.json").write_text(
        json.dumps({**done, "id": "deadbeef", "status": "running", "pid": 2**22 + 12345}), encoding="utf-8"
    )
    dead = b.get("deadbeef")
    assert dead is not None and dead["status"] == "failed" and "re-uploading" in dead["message"]
    assert b.get("../etc/passwd") is None


def test_process_wide_limits_are_shared_out_among_workers(tmp_path: Path) -> None:
    """Limits that bound memory hold for the whole server, not once per worker."""
    settings = Settings(
        index=tmp_path / "i", workers=4, decompress_budget_mb=128, max_upload_jobs=2, api_key="k"
    )
    env = worker_environment(settings)
    worker = Settings.model_validate({k.removeprefix("ZHIWEN_").lower(): v for k, v in env.items()})
    assert worker.decompress_budget_mb * 4 == 128
    assert worker.max_upload_jobs == 1
    assert env["ZHIWEN_API_KEY"] == "k" and worker.index == tmp_path / "i"
    one = worker_environment(settings.model_copy(update={"workers": 1}))
    assert float(one["ZHIWEN_DECOMPRESS_BUDGET_MB"]) == 128 and one["ZHIWEN_MAX_UPLOAD_JOBS"] == "2"


def test_the_shared_listening_socket_sends_without_delay() -> None:
    """With several workers the socket is bound outside asyncio; without TCP_NODELAY every
    response waited for the client's delayed ACK (about 40 ms a request)."""
    import socket

    import uvicorn

    from server import listening_socket

    config = uvicorn.Config("server.app:create_app", factory=True, host="127.0.0.1", port=0, workers=2)
    sock = listening_socket(config)
    try:
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    finally:
        sock.close()


def test_workers_share_the_cores_for_native_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each worker's BLAS/OpenMP pools get its share of the cores (a question's small matrix
    products gain nothing from more, and workers answering at once slowed each other)."""
    from server import native_threads

    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert native_threads(2) == {"OMP_NUM_THREADS": "4", "OPENBLAS_NUM_THREADS": "4", "MKL_NUM_THREADS": "4"}
    assert native_threads(8)["OPENBLAS_NUM_THREADS"] == "1"
    assert native_threads(16)["OMP_NUM_THREADS"] == "1"


def test_the_parent_sets_the_workers_environment_before_it_preloads(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The workers are forked from the parent after it has imported numpy/FAISS and
    prometheus-client, which read their thread counts and metrics folder when they load:
    both must be in the environment before the preload, not only in the workers'."""
    import server
    from server import workers

    monkeypatch.setattr(os, "environ", {k: v for k, v in os.environ.items() if not k.startswith("ZHIWEN_")})
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", workers.MULTIPROC_ENV):
        os.environ.pop(name, None)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    monkeypatch.setattr(
        workers, "enable_multiprocess", lambda: os.environ.__setitem__(workers.MULTIPROC_ENV, str(tmp_path))
    )
    seen: dict[str, str] = {}
    monkeypatch.setattr(workers, "preload", lambda: seen.update(os.environ))

    class Supervisor:
        def __init__(self, config: object, sock: object, n: int) -> None:
            seen["forked workers"] = str(n)

        def run(self) -> int:
            return 0

    monkeypatch.setattr(workers, "ForkedWorkers", Supervisor)
    monkeypatch.setattr(server, "listening_socket", lambda config: None)
    (tmp_path / "index").mkdir()
    (tmp_path / "index" / "store.sqlite").touch()  # an existing index: nothing to create first
    server.run(Settings(index=tmp_path / "index", workers=2, ui=False))
    assert seen["forked workers"] == "2"
    assert seen["OPENBLAS_NUM_THREADS"] == seen["OMP_NUM_THREADS"] == "4"
    assert seen[workers.MULTIPROC_ENV] == str(tmp_path)
    assert seen["ZHIWEN_WORKERS"] == "2"


def test_where_fork_is_unsafe_uvicorn_spawns_the_workers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import uvicorn.supervisors

    import server
    from server import workers

    monkeypatch.setattr(os, "environ", {k: v for k, v in os.environ.items() if not k.startswith("ZHIWEN_")})
    monkeypatch.setattr(workers, "enable_multiprocess", lambda: None)
    monkeypatch.setattr(workers, "preload", lambda: pytest.fail("nothing is preloaded for spawned workers"))
    monkeypatch.setattr(server, "listening_socket", lambda config: None)
    monkeypatch.setattr(server, "can_fork", lambda: False)
    seen: dict[str, object] = {}

    class Spawner:
        def __init__(self, config: object, sockets: object) -> None:
            seen["config"] = config

        def run(self) -> None:
            seen["env"] = dict(os.environ)

    monkeypatch.setattr(uvicorn.supervisors, "Multiprocess", Spawner)
    (tmp_path / "index").mkdir()
    (tmp_path / "index" / "store.sqlite").touch()
    server.run(Settings(index=tmp_path / "index", workers=2, ui=False))
    assert getattr(seen["config"], "workers", None) == 2
    assert isinstance(seen["env"], dict) and seen["env"]["ZHIWEN_WORKERS"] == "2"


def test_workers_are_forked_from_the_preloaded_server(
    two_workers: tuple[str, subprocess.Popen[bytes]],
) -> None:
    """A forked worker runs the server's own command line (a spawned one would show
    multiprocessing's): it started from the parent's loaded modules and dictionary."""
    _, proc = two_workers
    parent = Path(f"/proc/{proc.pid}/cmdline").read_bytes()
    kids = _children(proc.pid)
    assert kids
    for pid in kids:
        assert Path(f"/proc/{pid}/cmdline").read_bytes() == parent


def test_a_dead_worker_is_replaced_sighup_restarts_them_and_a_stop_stops_them(tmp_path: Path) -> None:
    env = served_env(tmp_path / "index")
    with running_server(tmp_path, env, workers=2) as (base, proc):
        first = _children(proc.pid)
        assert len(first) == 2
        os.kill(first[0], 9)
        deadline = time.monotonic() + 120
        while True:
            now = _children(proc.pid)
            if len(now) == 2 and first[0] not in now:
                break
            assert time.monotonic() < deadline, f"the killed worker was not replaced: {now}"
            time.sleep(0.2)
        for _ in range(8):  # the server keeps answering
            with httpx.Client(base_url=base, timeout=30) as fresh:
                assert fresh.post("/v1/search", json={"query": "全会", "top_k": 1}).status_code == 200
        # SIGHUP replaces them one at a time: a new worker is forked and loads the index while
        # the old ones keep serving, and an old one is stopped only once its successor is ready
        import threading

        statuses: list[int | str] = []
        rolling = threading.Event()

        def ask_meanwhile() -> None:
            # a new connection per request, as from many users: a connection kept alive to a
            # worker that retires is closed by it (a request sent on it at that moment is reset,
            # the usual keep-alive race, which clients retry); a new one must always be served
            with httpx.Client(
                base_url=base, timeout=60, limits=httpx.Limits(max_keepalive_connections=0)
            ) as c:
                while not rolling.is_set():
                    try:
                        statuses.append(c.post("/v1/search", json={"query": "全会", "top_k": 1}).status_code)
                    except httpx.HTTPError as exc:  # recorded, so that the test fails on it
                        statuses.append(repr(exc))

        asker = threading.Thread(target=ask_meanwhile)
        asker.start()
        os.kill(proc.pid, signal.SIGHUP)
        counts = []
        try:
            while True:
                later = _children(proc.pid)
                counts.append(len(later))
                if len(later) == 2 and not set(later) & set(now):
                    break
                assert time.monotonic() < deadline, f"SIGHUP did not replace the workers: {now} -> {later}"
                time.sleep(0.05)
        finally:
            rolling.set()
            asker.join()
        assert max(counts) == 3, counts  # old and new side by side, one replacement at a time
        assert statuses and set(statuses) == {200}
        assert proc.poll() is None
        now = later
        proc.terminate()
        assert proc.wait(timeout=60) == 0
        for pid in now:
            assert not _alive(pid), "a worker outlived the server"


def test_a_worker_that_cannot_start_its_app_stops_the_server(tmp_path: Path) -> None:
    index = tmp_path / "index"
    index.mkdir()
    (index / "store.sqlite").write_text("not a database")
    (index / "manifest.json").write_text('{"embedder": "fake"}')
    env = served_env(index)
    from tests.conftest import free_port, serve_command

    done = subprocess.run(
        serve_command(free_port(), workers=2),
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 3, done.stderr[-2000:]
    assert "could not start its app" in done.stderr


def test_workers_stop_when_the_server_is_killed(tmp_path: Path) -> None:
    """Even a SIGKILLed supervisor takes its workers with it: orphans would keep the port."""
    with running_server(tmp_path, served_env(tmp_path / "index"), workers=2) as (_base, proc):
        kids = _children(proc.pid)
        assert len(kids) == 2
        proc.kill()
        proc.wait(timeout=30)
        deadline = time.monotonic() + 60
        while any(_alive(pid) for pid in kids):
            assert time.monotonic() < deadline, "the workers outlived the killed server"
            time.sleep(0.2)


def test_sighup_keeps_the_running_workers_when_a_new_one_cannot_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A restart that would fail (say the index was broken meanwhile) must not take the
    server down: the replacement exits, the workers that were serving go on serving."""
    import threading

    from server import workers

    def fake_serve(config: object, sock: object, ready_fd: int | None = None) -> int:
        if (tmp_path / "broken").exists():
            (tmp_path / f"failed-{os.getpid()}").touch()
            return workers.STARTUP_FAILURE
        (tmp_path / f"ready-{os.getpid()}").touch()
        if ready_fd is not None:
            os.write(ready_fd, b"r")
        while True:  # serve until SIGTERM (default action: exit)
            time.sleep(0.1)

    monkeypatch.setattr(workers, "serve_one", fake_serve)
    supervisor = workers.ForkedWorkers(None, None, 2)  # type: ignore[arg-type]
    seen: dict[str, object] = {}

    def drive() -> None:
        deadline = time.monotonic() + 60
        try:
            while len(list(tmp_path.glob("ready-*"))) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            first = sorted(int(p.name.split("-")[1]) for p in tmp_path.glob("ready-*"))
            (tmp_path / "broken").touch()
            os.kill(os.getpid(), signal.SIGHUP)
            while not list(tmp_path.glob("failed-*")) and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(1.0)  # the supervisor reaps the failed replacement
            seen["first"] = first
            seen["alive"] = [_alive(pid) for pid in first]
            seen["children"] = sorted(supervisor.children)
        finally:
            os.kill(os.getpid(), signal.SIGTERM)

    driver = threading.Thread(target=drive)
    with caplog.at_level("INFO", logger="server.workers"):
        driver.start()
        code = supervisor.run()
        driver.join()
    assert code == 0  # not uvicorn's startup failure: the server did not give up
    assert len(list(tmp_path.glob("failed-*"))) == 1  # one replacement tried, none after it
    assert seen["alive"] == [True, True]
    assert seen["children"] == seen["first"]
    assert "did not become ready; the running workers are kept" in caplog.text


def test_preload_reads_the_answer_policy_for_every_worker() -> None:
    """The parent reads the policy and its span trees once; forked workers inherit them."""
    from rag.answer import Policy
    from server import workers

    Policy.load.cache_clear()
    workers.preload()
    assert Policy.load.cache_info().currsize == 1


def test_preload_loads_the_rankers_compiled_wording_kernel(monkeypatch) -> None:
    """The ranker's wording features are compiled (or read from numba's cache) before the
    workers fork, not at a worker's first question (what `warm_up` loads:
    tests/rag/test_answer_wording.py)."""
    from rag.answer import wording
    from server import workers

    calls: list[bool] = []
    monkeypatch.setattr(wording, "warm_up", lambda: calls.append(True))
    workers.preload()
    assert calls == [True]
