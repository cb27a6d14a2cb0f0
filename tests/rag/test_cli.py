from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rag.cli import main
from tests.conftest import ROOT, SEEDS


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("ZHIWEN_INDEX", str(tmp_path / "index"))
    monkeypatch.setenv("ZHIWEN_EMBEDDER", "fake")
    monkeypatch.setenv("ZHIWEN_SEEDS", str(SEEDS))
    return tmp_path


def _json_lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_ask_builds_the_index_from_seeds_when_missing(env, capsys):
    assert main(["ask", "出席全会的市委委员应到多少人？", "--json"]) == 0
    out, err = capsys.readouterr()
    assert "indexing" in err
    d = json.loads(out)
    assert set(d) >= {"question", "answered", "answer", "script", "citations", "took_ms"}
    assert d["answered"] and "57" in d["answer"]
    c = d["citations"][0]
    assert set(c) == {
        "n",
        "article_id",
        "chunk_id",
        "title",
        "source",
        "published",
        "quote",
        "start",
        "end",
        "score",
    }
    assert (env / "index" / "manifest.json").exists()


def test_index_search_articles_round_trip(env, capsys, tmp_path):
    extra = tmp_path / "extra.jsonl"
    extra.write_text(
        json.dumps({"id": "x1", "title": "测试新闻", "text": "知闻测试文章。今天天气晴朗。", "source": "测试报"},
                   ensure_ascii=False) + "\n{not json\n", encoding="utf-8")  # fmt: skip
    assert main(["index", str(SEEDS), str(extra), "-q"]) == 0
    out, err = capsys.readouterr()
    assert "20 added" in out
    assert "extra.jsonl:2" in err  # the malformed line is named; the good one went in

    assert main(["search", "知闻测试文章", "--json", "--top-k", "3"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["query"] == "知闻测试文章" and d["hits"][0]["article_id"] == "x1"
    assert set(d["hits"][0]) >= {"chunk_id", "article_id", "title", "text", "start", "end", "score", "scores"}
    assert set(d["hits"][0]["scores"]) == {"dense", "bm25"}

    assert main(["articles", "list", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert listing["total"] == 20
    assert main(["articles", "show", "x1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["text"] == "知闻测试文章。今天天气晴朗。"
    assert main(["articles", "delete", "x1"]) == 0
    capsys.readouterr()
    assert main(["articles", "show", "x1"]) == 2
    assert "no article" in capsys.readouterr().err


def test_reindex_is_idempotent(env, capsys):
    main(["index", str(SEEDS), "-q"])
    capsys.readouterr()
    main(["index", str(SEEDS), "-q"])
    assert "0 added, 0 updated, 19 unchanged" in capsys.readouterr().out


def test_filters_and_errors(env, capsys):
    main(["index", str(SEEDS), "-q"])
    capsys.readouterr()
    assert main(["search", "胡衡华", "--json", "--source", "澎湃新聞·澎湃號·政務"]) == 0
    hits = json.loads(capsys.readouterr().out)["hits"]
    assert hits and all(h["source"] == "澎湃新聞·澎湃號·政務" for h in hits)
    assert main(["ask", "   "]) == 2
    assert "empty" in capsys.readouterr().err
    assert main(["ask", "长沙", "--top-k", "0"]) == 2
    assert "top_k" in capsys.readouterr().err


def test_opening_with_another_embedder_says_how_to_rebuild(env, capsys):
    main(["index", str(SEEDS), "-q"])
    capsys.readouterr()
    assert main(["ask", "长沙", "--embedder", "fake:32"]) == 2
    assert "rebuild" in capsys.readouterr().err


def test_eval_reports_metrics(env, capsys, tmp_path):
    qa = tmp_path / "qa.jsonl"
    qa.write_text(
        "\n".join(json.dumps(d, ensure_ascii=False) for d in [
            {"id": "1", "question": "出席全会的市委委员应到多少人？", "answers": ["57"],
             "source": "000_c96f0316381136be.txt"},
            {"id": "2", "question": "火星上的首府是哪座城市？", "answerable": False},
        ]), encoding="utf-8")  # fmt: skip
    assert main(["eval", str(qa), "--json"]) == 0
    (r,) = json.loads(capsys.readouterr().out)
    assert r["questions"] == 2 and r["hit1"] == 1.0 and r["answer_accuracy"] == 1.0
    assert r["no_answer_accuracy"] == 1.0 and r["citation_validity"] == 1.0
    assert main(["eval", str(qa)]) == 0
    assert "| set |" in capsys.readouterr().out


def test_batch_mode_reads_stdin_and_does_not_import_heavy_libraries(tmp_path):
    code = (
        "import sys; from rag.cli import main; rc = main(['ask', '-']); "
        "heavy = [m for m in ('torch', 'sentence_transformers', 'gradio') if m in sys.modules]; "
        "sys.stderr.write('HEAVY=' + ','.join(heavy)); sys.exit(rc)"
    )
    env = {"ZHIWEN_INDEX": str(tmp_path / "ix"), "ZHIWEN_SEEDS": str(SEEDS), "ZHIWEN_EMBEDDER": "use",
           "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-c", code], input="出席全会的市委委员应到多少人？\n\n   \n长沙连续多少年获评中国最具幸福感城市？\n",
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = _json_lines(proc.stdout)
    assert len(lines) == 2 and all(line["answered"] for line in lines)
    assert "HEAVY=" in proc.stderr and proc.stderr.rsplit("HEAVY=", 1)[1].strip() == ""


def test_help_lists_every_command():
    out = subprocess.run(
        [str(Path(sys.executable).parent / "zhiwen"), "--help"], capture_output=True, text=True
    )
    for cmd in ("index", "ask", "search", "articles", "eval", "serve"):
        assert cmd in out.stdout


# ---------------------------------------------------------------- hostile input: one line, no traceback


def _one_line_error(capsys, code: int, rc: int, needle: str) -> None:
    err = capsys.readouterr().err
    assert rc == code, err
    assert "Traceback" not in err and needle in err, err
    assert len([line for line in err.splitlines() if line.startswith("zhiwen:")]) == 1, err


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["ask", "长沙", "--index", "/no/such/dir"], "no index at /no/such/dir"),
        (["search", "长沙", "--index", "/no/such/dir"], "no index at /no/such/dir"),
        (["articles", "list", "--index", "/no/such/dir"], "no index at /no/such/dir"),
        (["eval", "missing.jsonl"], "missing.jsonl"),
        (["serve", "--port", "70000"], "port"),
        (["ask", "长沙", "--since", "2023-13-45"], "YYYY-MM-DD"),
        (["ask", "长沙", "--since", "garbage"], "YYYY-MM-DD"),
        (["search", "长沙", "--since", "2023-02-01", "--until", "2023-01-01"], "swap"),
        (["ask", "长沙", "--top-k", "51"], "top_k"),
    ],
)
def test_bad_command_lines_are_one_line(env, capsys, argv, needle) -> None:
    _one_line_error(capsys, 2, main(argv), needle)


def test_no_index_is_created_by_a_mistyped_index_path(env, capsys, tmp_path) -> None:
    target = tmp_path / "typo"
    assert main(["ask", "长沙", "--index", str(target)]) == 2
    assert not target.exists()
    capsys.readouterr()
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    _one_line_error(capsys, 2, main(["search", "长沙", "--index", str(a_file)]), "is a file")


def test_corrupt_index_is_one_line(env, capsys, tmp_path) -> None:
    bad = tmp_path / "corrupt"
    bad.mkdir()
    (bad / "store.sqlite").write_bytes(b"not a database at all" * 100)
    _one_line_error(capsys, 1, main(["ask", "长沙", "--index", str(bad)]), "rebuild")


def test_hostile_folder_is_reported_per_file_and_good_files_go_in(env, capsys, tmp_path) -> None:
    import gzip
    import os

    folder = tmp_path / "hostile"
    folder.mkdir()
    (folder / "good.jsonl").write_text('{"id": "good-1", "text": "一篇好文章。"}\n', "utf-8")
    (folder / "mixed.jsonl").write_text(
        '{"id": "good-2", "text": "另一篇。"}\n{"text": "\\ud800"}\n', "utf-8"
    )
    os.mkfifo(folder / "pipe.txt")
    (folder / "zero.txt").symlink_to("/dev/zero")
    (folder / "loop-a.txt").symlink_to(folder / "loop-b.txt")
    (folder / "loop-b.txt").symlink_to(folder / "loop-a.txt")
    (folder / "zeros.jsonl.gz").write_bytes(gzip.compress(b"\0" * (20 << 20)))
    (folder / "newlines.jsonl.gz").write_bytes(gzip.compress(b"\n" * (20 << 20)))
    (folder / "long.txt").write_text("标题\n" + "长" * (1 << 20), "utf-8")
    env_limits = {"ZHIWEN_MAX_FILE_MB": "8", "ZHIWEN_MAX_LINE_MB": "2"}
    os.environ.update(env_limits)
    try:
        rc = main(["index", str(folder), "-q"])
    finally:
        for k in env_limits:
            os.environ.pop(k)
    captured = capsys.readouterr()
    assert rc == 0 and "Traceback" not in captured.err
    assert "2 added" in captured.out
    for name, needle in [
        ("mixed.jsonl:2", "surrogate"),
        ("pipe.txt", "FIFO"),
        ("zero.txt", "device"),
        ("loop-a.txt", "link"),
        ("zeros.jsonl.gz", "longer than"),
        ("newlines.jsonl.gz", "after decompression"),
        ("long.txt", "characters"),
    ]:
        line = next((x for x in captured.err.splitlines() if name in x), "")
        assert needle in line, (name, captured.err)


def test_stdin_batch_reports_bad_lines_and_answers_the_rest(env, capsys, monkeypatch) -> None:
    import io

    main(["index", str(SEEDS), "-q"])
    capsys.readouterr()
    raw = "长沙\n".encode() + b"\xff\xfe broken\n" + "全会\n".encode()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8"))
    assert main(["search", "-", "--top-k", "1"]) == 0
    captured = capsys.readouterr()
    lines = _json_lines(captured.out)
    assert [line.get("query") for line in lines] == ["长沙", None, "全会"]
    assert lines[1]["line"] == 2 and "UTF-8" in lines[1]["error"]["message"]
    assert "line 2" in captured.err and "Traceback" not in captured.err


@pytest.mark.slow
def test_index_refuses_real_bombs_in_seconds_with_bounded_memory(tmp_path) -> None:
    """1 GB bombs (zeros, newlines) and a 40-million-character line through `zhiwen index`:
    each refused with a per-file message, the good file indexed, peak RSS under 1 GB."""
    import time
    import zlib

    folder = tmp_path / "bombs"
    folder.mkdir()
    for name, fill in (("zeros.jsonl.gz", b"\0"), ("newlines.jsonl.gz", b"\n"), ("zeros.json", b"\0")):
        comp = zlib.compressobj(1, zlib.DEFLATED, 31)
        block = fill * (16 << 20)
        with (folder / name).open("wb") as fh:
            for _ in range(64):  # 1 GB
                fh.write(comp.compress(block))
            fh.write(comp.flush())
    (folder / "long.txt").write_text("标题\n" + "长" * (40 << 20), "utf-8")
    (folder / "good.jsonl").write_text('{"id": "good-1", "text": "一篇好文章。"}\n', "utf-8")
    zhiwen = Path(sys.executable).parent / "zhiwen"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "ZHIWEN_EMBEDDER": "fake"}
    t0 = time.monotonic()
    # `zhiwen index`'s own peak: a child forked from this test process starts with its pages, and
    # Linux keeps that high-water mark across exec, so its ru_maxrss would be pytest's size; a
    # small launcher forks it instead and reports its peak (os.wait4) in a file
    launcher = (
        "import os, subprocess, sys\n"
        "child = subprocess.Popen(sys.argv[2:])\n"
        "_, status, usage = os.wait4(child.pid, 0)\n"
        "open(sys.argv[1], 'w').write(str(usage.ru_maxrss))\n"
        "sys.exit(os.waitstatus_to_exitcode(status))\n"
    )
    peak_file = tmp_path / "peak"
    proc = subprocess.run(
        [sys.executable, "-c", launcher, str(peak_file),
         str(zhiwen), "index", str(folder), "--index", str(tmp_path / "ix"), "-q"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    took = time.monotonic() - t0
    peak_mb = int(peak_file.read_text()) / 1024
    assert proc.returncode == 0, proc.stderr
    assert "1 added" in proc.stdout and "Traceback" not in proc.stderr
    for name in ("zeros.jsonl.gz", "newlines.jsonl.gz", "zeros.json", "long.txt"):
        assert f"{name}" in proc.stderr, proc.stderr
    assert peak_mb <= 1024, f"peak RSS {peak_mb:.0f} MB"
    assert took < 120, f"took {took:.0f} s"


def test_index_checkpoint_alone_persists_the_index_and_needs_one(env, capsys, tmp_path) -> None:
    assert main(["index", str(SEEDS), "-q"]) == 0
    capsys.readouterr()
    assert main(["index", "--checkpoint"]) == 0
    out, _ = capsys.readouterr()
    assert "checkpointed" in out and "vector index flat" in out
    segments = list((tmp_path / "index" / "segments").iterdir())
    assert segments, "a checkpoint writes a segment"
    # alone, it never creates an index, and an index run needs paths or --checkpoint
    assert main(["index", "--checkpoint", "--index", str(tmp_path / "nowhere")]) != 0
    assert not (tmp_path / "nowhere").exists()
    assert main(["index"]) != 0
    assert "--checkpoint" in capsys.readouterr().err


def test_ask_prints_the_short_answer_before_the_evidence(env, capsys):
    assert main(["ask", "出席全会的市委委员应到多少人？", "--json"]) == 0
    short = json.loads(capsys.readouterr().out)["short_answer"]
    assert short is not None and set(short) == {"text", "n", "start", "end"}
    assert main(["ask", "出席全会的市委委员应到多少人？"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"{short['text']} [{short['n']}]"
    assert "57" in lines[1]  # then the evidence sentence


def test_index_option_works_before_and_after_the_command(env, capsys, tmp_path) -> None:
    # `zhiwen --index DIR ask` once fell back to the default index: the command's own
    # (unset) --index overwrote the one given before it
    target = tmp_path / "elsewhere"
    assert main(["--index", str(target), "index", str(SEEDS), "-q"]) == 0
    capsys.readouterr()
    assert (target / "manifest.json").exists() and not (env / "index").exists()
    assert main(["--index", str(target), "articles", "list", "--json"]) == 0
    assert main(["articles", "list", "--json", "--index", str(target)]) == 0


def test_index_without_words_then_upgrade(env, capsys):
    """`zhiwen index --no-words` leaves the sentences' words out; `zhiwen upgrade` stores them
    (once: a second run has nothing to do), and the answer is the same before and after."""
    import sqlite3

    assert main(["index", str(SEEDS), "-q", "--no-words"]) == 0
    store = env / "index" / "store.sqlite"

    def missing() -> int:
        with sqlite3.connect(store) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM sentences WHERE words IS NULL").fetchone()[0])

    assert missing() > 0
    capsys.readouterr()
    assert main(["ask", "出席全会的市委委员应到多少人？", "--json"]) == 0
    before = json.loads(capsys.readouterr().out)
    assert main(["upgrade", "-q"]) == 0
    assert "stored the sentence words of" in capsys.readouterr().out
    assert missing() == 0
    assert main(["upgrade", "-q"]) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert main(["ask", "出席全会的市委委员应到多少人？", "--json"]) == 0
    after = json.loads(capsys.readouterr().out)
    assert (after["answer"], after["short_answer"]) == (before["answer"], before["short_answer"])


def test_upgrade_needs_an_index(env, capsys):
    assert main(["upgrade", "--index", str(env / "nowhere")]) == 2
    assert "no index at" in capsys.readouterr().err
