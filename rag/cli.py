"""The `zhiwen` command line (an edge: it reads settings and prints; the library does not)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TextIO

from rag.errors import IndexMissingError, ZhiwenError
from rag.settings import Settings

logger = logging.getLogger("zhiwen")


def _out(text: str = "", stream: TextIO | None = None) -> None:
    (stream or sys.stdout).write(text + "\n")


def _emit_json(obj: object) -> None:
    _out(json.dumps(obj, ensure_ascii=False))


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {k: v for k, v in (("index", args.index), ("embedder", args.embedder)) if v is not None}
    return Settings(**overrides)


def _open_index(  # type: ignore[no-untyped-def]
    settings: Settings, *, build_from_seeds: bool = False, create: bool = False, explicit: bool = False
):
    """Open the index. Only `index` creates one (`create`); the others, with no index there,
    index the seeds first when the location is the configured one (ZHIWEN_INDEX or the default),
    and refuse when `--index DIR` was given (`explicit`: a mistyped path must not become an
    empty index that answers "not found")."""
    from rag.embed import resolve_embedder
    from rag.index import Index

    where = Path(settings.index)
    if where.exists() and not where.is_dir():
        raise IndexMissingError(f"{where} is a file, not an index directory; pass --index DIR")
    exists = (where / "store.sqlite").exists()
    if not exists and not create and (explicit or not build_from_seeds):
        raise IndexMissingError(
            f"there is no index at {where}; check the path, or build one with `zhiwen index PATH... --index {where}`"
        )
    embedder = resolve_embedder(settings.embedder, settings.index)
    if not exists and build_from_seeds:
        from rag.ingest import IngestLimits, read_paths

        _out(f"no index at {settings.index}; indexing {settings.seeds}/ first", sys.stderr)
        index = Index.open(settings.index, embedder, create=True)
        result = read_paths([settings.seeds], limits=IngestLimits.from_settings(settings))
        for e in result.errors:
            _out(f"skipped {e.path}: {e.reason}", sys.stderr)
        index.add(result.articles, progress=sys.stderr.isatty())
        return index
    return Index.open(settings.index, embedder, create=create)


def _filters(args: argparse.Namespace, settings: Settings):  # type: ignore[no-untyped-def]
    """The filters of `ask`/`search`, checked like the API's: ISO dates, since <= until, top_k."""
    from rag.records import Filters
    from rag.validate import date_range

    try:
        since, until = date_range(args.since, args.until)
    except ValueError as exc:
        raise UsageError(f"--since/--until: {exc}") from None
    if not 1 <= args.top_k <= settings.max_top_k:
        raise UsageError(f"--top-k is {args.top_k}; top_k must be 1..{settings.max_top_k} (ZHIWEN_MAX_TOP_K)")
    return Filters(since=since, until=until, sources=tuple(args.source or ()))


class UsageError(Exception):
    """A bad command line: printed as one line, exit code 2."""


def _questions(arg: str) -> Iterator[tuple[int, str | None]]:
    """(line number, text) of each question; `-` reads stdin line by line, where a line that is
    not UTF-8 (or is over-long) comes as (n, None) so the caller reports it and goes on."""
    if arg != "-":
        yield 1, arg
        return
    for n, raw in enumerate(_stdin_lines(), 1):
        try:
            text = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            yield n, None
            continue
        if text:
            yield n, text


def _stdin_lines(max_line: int = 1 << 20) -> Iterator[bytes]:
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:  # a text stream (tests): re-encode, keeping undecodable bytes as they were
        for line in sys.stdin:
            yield line.encode("utf-8", "surrogateescape")
        return
    while line := stream.readline(max_line + 1):
        if len(line) > max_line and not line.endswith(b"\n"):
            while (rest := stream.readline(max_line + 1)) and not rest.endswith(b"\n"):
                pass  # skip the rest of an over-long line without holding it
            yield b"\xff"  # reported as an unreadable line
            continue
        yield line


def _bad_line(n: int, batch: bool, command: str) -> None:
    message = f"stdin line {n} is not UTF-8 text (or is over 1 MB); skipped, the other lines are {command}ed"
    _out(f"zhiwen: {message}", sys.stderr)
    if batch:
        _emit_json({"line": n, "error": {"code": "undecodable", "message": message}})


def cmd_index(args: argparse.Namespace) -> int:
    from rag.ingest import read_paths

    settings = _settings(args)
    from rag.ingest import IngestLimits

    if not args.paths and not args.checkpoint:
        raise UsageError("name the files or folders to index (or --checkpoint alone to persist the index)")
    index = _open_index(settings, create=bool(args.paths))
    index.store_words = settings.index_words and not args.no_words
    if not args.paths:
        index.checkpoint()
        s = index.stats()
        _out(f"checkpointed {settings.index}: {s['chunks']} chunks, vector index {s['vector_index']}")
        return 0
    if args.ray is not None or settings.ray_address:
        code = _index_on_ray(args, settings, index)
        if args.checkpoint:
            index.checkpoint()
        return code
    result = read_paths(args.paths, limits=IngestLimits.from_settings(settings))
    for e in result.errors:
        where = f"{e.path}:{e.line}" if e.line else e.path
        _out(f"skipped {where}: {e.reason}", sys.stderr)
    stats = index.add(result.articles, progress=not args.quiet)
    if args.checkpoint:
        index.checkpoint()
    s = index.stats()
    _out(
        f"{stats.added} added, {stats.updated} updated, {stats.unchanged} unchanged ({stats.chunks} chunks); "
        f"index {settings.index}: {s['articles']} articles, {s['chunks']} chunks"
        + (f"; {len(result.errors)} file(s) skipped" if result.errors else "")
    )
    return 1 if result.errors and not result.articles else 0


def cmd_upgrade(args: argparse.Namespace) -> int:
    settings = _settings(args)
    index = _open_index(settings, create=False)
    done = index.upgrade(progress=not args.quiet)
    if done.terms:
        _out(f"made the search terms of {done.terms} article(s) again in {settings.index}")
    if done.words:
        _out(f"stored the sentence words of {done.words} article(s) in {settings.index}")
    if not (done.terms or done.words):
        _out(f"{settings.index} already stores everything in this zhiwen's formats; nothing to do")
    return 0


def _index_on_ray(args: argparse.Namespace, settings: Settings, index) -> int:  # type: ignore[no-untyped-def]
    """`zhiwen index --ray [ADDRESS]`: read, split and embed on Ray; commit here (rag.distributed)."""
    from rag.distributed import RayOptions, ray_index

    address = args.ray if args.ray is not None else settings.ray_address
    options = RayOptions(address=address, actors=args.ray_actors, batch_size=args.ray_batch_size)
    run = ray_index(index, args.paths, options=options, progress=not args.quiet)
    for e in run.errors:
        _out(f"skipped {f'{e.path}:{e.line}' if e.line else e.path}: {e.reason}", sys.stderr)
    stats, s = run.stats, index.stats()
    _out(
        f"{stats.added} added, {stats.updated} updated, {stats.unchanged} unchanged ({stats.chunks} chunks) "
        f"on Ray in {run.total_s:.0f} s ({run.sent} embedded); "
        f"index {settings.index}: {s['articles']} articles, {s['chunks']} chunks"
        + (f"; {len(run.errors)} file(s) skipped" if run.errors else "")
    )
    return 1 if run.errors and not run.articles else 0


def cmd_ask(args: argparse.Namespace) -> int:
    from rag.answer import ask
    from rag.records import answer_to_dict

    settings = _settings(args)
    filters = _filters(args, settings)
    index = _open_index(settings, build_from_seeds=True, explicit=args.index is not None)
    batch = args.question == "-"
    for n, q in _questions(args.question):
        if q is None:
            _bad_line(n, batch, "answer")
            continue
        try:
            ans = ask(index, q, top_k=args.top_k, filters=filters)
        except ZhiwenError as exc:
            if not batch:
                raise
            _emit_json({"question": q, "error": {"code": exc.code, "message": exc.message}})
            continue
        if args.json or batch:
            d = answer_to_dict(ans)
            d.pop("suggestions", None) if ans.answered else None
            _emit_json(d)
            continue
        if ans.short_answer is not None:
            _out(f"{ans.short_answer.text} [{ans.short_answer.n}]")
        _out(ans.answer)
        for c in ans.citations:
            meta = " ".join(x for x in (c.source, (c.published or "")[:10]) if x)
            _out(f"  [{c.n}] {c.title} ({meta}) {c.article_id} [{c.start}:{c.end}]")
            _out(f"      「{c.quote}」")
        if not ans.answered:
            for i, h in enumerate(ans.suggestions, 1):
                _out(f"  {i}. {h.title}: {h.text[:80]}…")
        _out(f"  ({ans.took_ms:.0f} ms)", sys.stderr)
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from rag.answer import search
    from rag.records import hits_to_dict

    settings = _settings(args)
    filters = _filters(args, settings)
    index = _open_index(settings, build_from_seeds=True, explicit=args.index is not None)
    batch = args.query == "-"
    for n, q in _questions(args.query):
        if q is None:
            _bad_line(n, batch, "search")
            continue
        try:
            hits = search(index, q, top_k=args.top_k, filters=filters)
        except ZhiwenError as exc:
            if not batch:
                raise
            _emit_json({"query": q, "error": {"code": exc.code, "message": exc.message}})
            continue
        if args.json or batch:
            _emit_json(hits_to_dict(q, hits))
            continue
        for i, h in enumerate(hits, 1):
            _out(
                f"{i}. {h.score:.3f} (dense {h.scores['dense']:.3f}, bm25 {h.scores['bm25']:.2f}) {h.chunk_id}"
            )
            _out(f"   {h.title} | {h.text[:100]}")
    return 0


def cmd_articles(args: argparse.Namespace) -> int:
    index = _open_index(_settings(args), explicit=True)
    if args.action == "list":
        arts, total = index.list_articles(offset=args.offset, limit=args.limit, source=args.source_filter)
        if args.json:
            _emit_json({"total": total, "articles": [
                {"id": a.id, "title": a.title, "published": a.published, "source": a.source, "chars": len(a.text)}
                for a in arts]})  # fmt: skip
        else:
            for a in arts:
                _out(f"{a.id}\t{(a.published or '')[:10]}\t{a.source or ''}\t{a.title}")
            _out(f"({len(arts)} of {total})", sys.stderr)
        return 0
    if not args.id:
        raise SystemExit(f"zhiwen articles {args.action} needs an article id")
    if args.action == "show":
        a = index.get_article(args.id)
        if args.json:
            _emit_json({"id": a.id, "title": a.title, "published": a.published, "source": a.source,
                        "url": a.url, "parent_id": a.parent_id, "text": a.text})  # fmt: skip
        else:
            _out(f"{a.title}\n{a.published or ''} {a.source or ''}\n\n{a.text}")
        return 0
    n = index.delete(args.id)
    _out(f"deleted {args.id}" + (f" and {n - 1} related item(s)" if n > 1 else ""))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from rag.evaluate import evaluate, load_qa, report_dict, report_table

    for path in args.qa:
        if not Path(path).is_file():
            raise UsageError(f"{path}: no such QA file; give JSONL files of {{question, answers}} records")
    index = _open_index(_settings(args), build_from_seeds=True, explicit=args.index is not None)
    reports = []
    for path in args.qa:
        items = load_qa(path, limit=args.limit)
        reports.append(
            evaluate(index, items, name=Path(path).stem, progress=not args.json and sys.stderr.isatty())
        )
    if args.json:
        _emit_json([report_dict(r) for r in reports])
    else:
        _out(report_table(reports))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import server

    overrides: dict[str, object] = {}
    for key in ("index", "embedder", "host", "port", "workers"):
        if getattr(args, key, None) is not None:
            overrides[key] = getattr(args, key)
    server.run(Settings(**overrides))  # type: ignore[arg-type]
    return 0


def _add_filters(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--top-k", type=int, default=5, help="passages / sources (1..ZHIWEN_MAX_TOP_K, default 50)"
    )
    p.add_argument("--since", help="only articles published on or after this date (YYYY-MM-DD)")
    p.add_argument("--until", help="only articles published on or before this date (YYYY-MM-DD)")
    p.add_argument("--source", action="append", help="only this outlet (repeatable)")
    p.add_argument("--json", action="store_true", help="print JSON")


def _common_options(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("--index", help="index directory (env ZHIWEN_INDEX, default ./.zhiwen/index)")
    p.add_argument("--embedder", help="use (default) | st:MODEL_NAME_OR_PATH | fake (env ZHIWEN_EMBEDDER)")
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="zhiwen",
        description="知闻 zhiwen: ask questions of Chinese news, get cited answers.",
        parents=[_common_options(argparse.ArgumentParser(add_help=False))],
    )
    ap.set_defaults(index=None, embedder=None, verbose=False)
    # the same options after the command; unset there, they keep what was given before it
    # (`zhiwen --index DIR ask ...` and `zhiwen ask --index DIR ...` both work)
    common = _common_options(argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS))
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", parents=[common], help="index files or folders (.txt .md .jsonl .jsonl.gz)")
    p.add_argument("paths", nargs="*")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--checkpoint",
        action="store_true",
        help="after indexing (or alone), persist every chunk as a new segment now, building the "
        "vector index `auto` calls for at its size (rag/index/vector_policy.json)",
    )
    p.add_argument(
        "--no-words",
        action="store_true",
        help="do not store the sentences' words (faster indexing; answers compute them until "
        "`zhiwen upgrade` stores them; env ZHIWEN_INDEX_WORDS=false)",
    )
    p.add_argument(
        "--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
        help="split and embed on Ray: alone starts a local Ray instance, `auto` joins the cluster "
        "this machine is in, HOST:PORT joins that head (env ZHIWEN_RAY_ADDRESS)",
    )  # fmt: skip
    p.add_argument("--ray-actors", type=int, default=1, metavar="N", help="embedding actors (default 1)")
    p.add_argument(
        "--ray-batch-size", type=int, default=32, metavar="N", help="articles per embedding call (default 32)"
    )
    p.set_defaults(func=cmd_index)

    p = sub.add_parser(
        "upgrade",
        parents=[common],
        help="store what answering needs of each sentence in an index built by an older zhiwen "
        "(nothing is re-embedded; can be stopped and run again)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_upgrade)

    p = sub.add_parser("ask", parents=[common], help="answer a question ('-' reads one per line from stdin)")
    p.add_argument("question")
    _add_filters(p)
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("search", parents=[common], help="show the best passages ('-' reads stdin)")
    p.add_argument("query")
    _add_filters(p)
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("articles", parents=[common], help="list, show or delete indexed articles")
    p.add_argument("action", choices=["list", "show", "delete"])
    p.add_argument("id", nargs="?")
    p.add_argument("--offset", type=int, default=0)
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--source", dest="source_filter")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_articles)

    p = sub.add_parser("eval", parents=[common], help="hit@k, MRR, answer accuracy on QA JSONL files")
    p.add_argument("qa", nargs="+")
    p.add_argument("--limit", type=int, default=None, help="first N questions of each file")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("serve", parents=[common], help="start the HTTP API and web chat")
    p.add_argument("--host", default=None, help="default 127.0.0.1 (env ZHIWEN_HOST)")
    p.add_argument("--port", type=int, default=None, help="default 8000 (env ZHIWEN_PORT)")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="worker processes (default: the core count; env ZHIWEN_WORKERS)",
    )
    p.set_defaults(func=cmd_serve)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command. No traceback reaches the user: every failure is one line on stderr that
    says what to do, and a non-zero exit code (2 for bad input, 1 otherwise; -v shows tracebacks)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `zhiwen ... | head`
        return 0
    except Exception as exc:
        code, message = _failure(exc, args)
        if args.verbose:
            logger.exception("zhiwen %s failed", args.command)
        _out(f"zhiwen: {message}", sys.stderr)
        return code


def _failure(exc: BaseException, args: argparse.Namespace) -> tuple[int, str]:
    """(exit code, one-line message) for any failure of a command."""
    import errno
    import sqlite3

    from pydantic import ValidationError

    where = args.index or "the index directory (ZHIWEN_INDEX)"
    if isinstance(exc, UsageError):
        return 2, str(exc)
    if isinstance(exc, ZhiwenError):
        return 2, exc.message
    if isinstance(exc, ValidationError):
        parts = [f"{'.'.join(str(x) for x in e['loc']) or 'value'}: {e['msg']}" for e in exc.errors()[:3]]
        return 2, "invalid setting " + "; ".join(parts) + " (check the option or its ZHIWEN_* variable)"
    text = str(exc).lower()
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return 1, f"the disk is full ({exc.filename or where}); free space and run the command again"
    if isinstance(exc, sqlite3.Error) and "disk is full" in text:
        return 1, f"the disk holding {where} is full; free space and run the command again"
    if isinstance(exc, sqlite3.Error) and "readonly" in text.replace(" ", "").replace("-", ""):
        return 1, f"{where} is read-only; make it writable (or copy it) and run the command again"
    if isinstance(exc, sqlite3.DatabaseError):
        return 1, (
            f"{where} does not hold a readable index ({exc}); rebuild it with "
            "`rm -rf DIR && zhiwen index PATH... --index DIR`"
        )
    if isinstance(exc, PermissionError):
        return 1, f"permission denied: {exc.filename or where}; check its permissions"
    if isinstance(exc, OSError):
        name = f" {exc.filename}" if exc.filename else ""
        return 1, f"cannot use{name}: {exc.strerror or exc}; check the path"
    if isinstance(exc, MemoryError):
        return 1, "out of memory; index fewer or smaller files at once"
    return 1, f"unexpected error ({type(exc).__name__}: {exc}); run again with -v for the details"


if __name__ == "__main__":
    raise SystemExit(main())
