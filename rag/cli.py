"""The `zhiwen` command line (an edge: it reads settings and prints; the library does not)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
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


def _open_index(settings: Settings, *, build_from_seeds: bool = False, create: bool = False):  # type: ignore[no-untyped-def]
    from rag.embed import resolve_embedder
    from rag.index import Index

    embedder = resolve_embedder(settings.embedder, settings.index)
    exists = (Path(settings.index) / "store.sqlite").exists()
    if not exists and build_from_seeds:
        from rag.ingest import read_paths

        _out(f"no index at {settings.index}; indexing {settings.seeds}/ first", sys.stderr)
        index = Index.open(settings.index, embedder, create=True)
        result = read_paths([settings.seeds])
        for e in result.errors:
            _out(f"skipped {e.path}: {e.reason}", sys.stderr)
        index.add(result.articles, progress=sys.stderr.isatty())
        return index
    return Index.open(settings.index, embedder, create=create)


def _filters(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from rag.records import Filters

    return Filters(since=args.since, until=args.until, sources=tuple(args.source or ()))


def _questions(arg: str) -> list[str]:
    if arg == "-":
        return [line.strip() for line in sys.stdin if line.strip()]
    return [arg]


def cmd_index(args: argparse.Namespace) -> int:
    from rag.ingest import read_paths

    settings = _settings(args)
    index = _open_index(settings, create=True)
    if args.ray is not None or settings.ray_address:
        return _index_on_ray(args, settings, index)
    result = read_paths(args.paths)
    for e in result.errors:
        where = f"{e.path}:{e.line}" if e.line else e.path
        _out(f"skipped {where}: {e.reason}", sys.stderr)
    stats = index.add(result.articles, progress=not args.quiet)
    s = index.stats()
    _out(
        f"{stats.added} added, {stats.updated} updated, {stats.unchanged} unchanged ({stats.chunks} chunks); "
        f"index {settings.index}: {s['articles']} articles, {s['chunks']} chunks"
        + (f"; {len(result.errors)} file(s) skipped" if result.errors else "")
    )
    return 1 if result.errors and not result.articles else 0


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
        f"on Ray in {run.total_s:.0f} s; index {settings.index}: {s['articles']} articles, {s['chunks']} chunks"
        + (f"; {len(run.errors)} file(s) skipped" if run.errors else "")
    )
    return 1 if run.errors and not run.articles else 0


def cmd_ask(args: argparse.Namespace) -> int:
    from rag.answer import ask
    from rag.records import answer_to_dict

    index = _open_index(_settings(args), build_from_seeds=True)
    questions = _questions(args.question)
    batch = args.question == "-"
    for q in questions:
        try:
            ans = ask(index, q, top_k=args.top_k, filters=_filters(args))
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
    from rag.records import hits_to_dict
    from rag.retrieve import search

    index = _open_index(_settings(args), build_from_seeds=True)
    batch = args.query == "-"
    for q in _questions(args.query):
        hits = search(index, q, top_k=args.top_k, filters=_filters(args))
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
    index = _open_index(_settings(args))
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

    index = _open_index(_settings(args), build_from_seeds=True)
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
    p.add_argument("--top-k", type=int, default=5, help="passages / sources (1-50)")
    p.add_argument("--since", help="only articles published on or after this date (YYYY-MM-DD)")
    p.add_argument("--until", help="only articles published on or before this date (YYYY-MM-DD)")
    p.add_argument("--source", action="append", help="only this outlet (repeatable)")
    p.add_argument("--json", action="store_true", help="print JSON")


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--index", help="index directory (env ZHIWEN_INDEX, default ./.zhiwen/index)")
    common.add_argument(
        "--embedder", help="use (default) | st:MODEL_NAME_OR_PATH | fake (env ZHIWEN_EMBEDDER)"
    )
    common.add_argument("-v", "--verbose", action="store_true")
    ap = argparse.ArgumentParser(
        prog="zhiwen",
        description="知闻 zhiwen: ask questions of Chinese news, get cited answers.",
        parents=[common],
    )
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", parents=[common], help="index files or folders (.txt .md .jsonl .jsonl.gz)")
    p.add_argument("paths", nargs="+")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
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
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except IndexMissingError as exc:
        _out(f"zhiwen: {exc.message}", sys.stderr)
        return 2
    except ZhiwenError as exc:
        _out(f"zhiwen: {exc.message}", sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
