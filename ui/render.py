"""Every piece of HTML the web chat shows, as pure functions (no Gradio import).

Safety rule: any text that comes from a question, an article or an upload goes through
`esc` (html.escape) *before* this module adds its own markup, so an article holding
`<script>`, `<img onerror=...>` or a markdown image shows as literal text. The chat
component renders these strings as HTML with markdown off, and Gradio's sanitizer runs
on top of that as a second line of defence.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rag.normalize import to_simplified, to_traditional
from rag.records import Answer, Article, Citation, Hit

# (label, value) pairs for the 简/繁 switch; "auto" = as answered (the question's script).
SCRIPT_CHOICES: list[tuple[str, str]] = [("按提问", "auto"), ("简体", "hans"), ("繁體", "hant")]

CONTEXT_CHARS = 60  # context shown around a quote on a source card
FULL_TEXT_CHARS = 20_000  # longer articles are shown as a window around the quote
SUGGESTION_CHARS = 220
MARKER_RE = re.compile(r"\[(\d{1,3})\]")


def esc(text: object) -> str:
    """HTML-escape any value (quotes included); None becomes ''."""
    return html.escape("" if text is None else str(text), quote=True)


def esc_lines(text: str) -> str:
    """Escape, keeping line breaks as <br> so the whole fragment stays on one line."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ").split("\n")
    return "<br>".join(esc(line) for line in lines)


def fmt_date(published: str | None) -> str:
    """`2019-09-25T12:55:03` -> `2019-09-25`; '' when unknown."""
    return (published or "")[:10]


def convert_script(text: str, mode: str) -> str:
    """The 简/繁 switch, applied to answer text only (never to quotes)."""
    if mode == "hans":
        return to_simplified(text)
    if mode == "hant":
        return to_traditional(text)
    return text


def card_id(turn: int, n: int) -> str:
    return f"zw-t{turn}-c{n}"


def link_markers(escaped: str, turn: int, numbers: Iterable[int]) -> str:
    """Turn `[n]` markers (of known citations) in escaped answer text into links to card n."""
    known = set(numbers)

    def repl(m: re.Match[str]) -> str:
        n = int(m.group(1))
        if n not in known:
            return m.group(0)
        return f'<a class="zw-ref" href="#{card_id(turn, n)}" data-n="{n}">[{n}]</a>'

    return MARKER_RE.sub(repl, escaped)


def highlight(text: str, start: int, end: int, *, mark_class: str = "zw-hl") -> str:
    """`text` escaped, with `text[start:end]` wrapped in <mark>."""
    start = max(0, min(start, len(text)))
    end = max(start, min(end, len(text)))
    return (
        esc_lines(text[:start])
        + f'<mark class="{mark_class}">'
        + esc_lines(text[start:end])
        + "</mark>"
        + esc_lines(text[end:])
    )


def passage_html(text: str | None, c: Citation, context: int = CONTEXT_CHARS) -> str:
    """The quote with a little context from its article, kept within its paragraph."""
    if text is None or text[c.start : c.end] != c.quote:
        return f'<mark class="zw-hl">{esc_lines(c.quote)}</mark>'
    lo = max(0, c.start - context)
    para = text.rfind("\n", lo, c.start)
    cut_lo = lo > 0 and para < 0  # cut inside the paragraph, not at its start
    if para >= 0:
        lo = para + 1
    hi = min(len(text), c.end + context)
    para = text.find("\n", c.end, hi)
    cut_hi = hi < len(text) and para < 0
    if para >= 0:
        hi = para
    before, after = text[lo : c.start].lstrip(), text[c.end : hi].rstrip()
    lead = "…" if cut_lo and before else ""
    tail = "…" if cut_hi and after else ""
    return (
        lead
        + esc_lines(before)
        + f'<mark class="zw-hl">{esc_lines(c.quote)}</mark>'
        + esc_lines(after)
        + tail
    )


def full_text_html(text: str, start: int, end: int, max_chars: int = FULL_TEXT_CHARS) -> str:
    """The whole article with [start:end] highlighted in place (a window if it is very long)."""
    if len(text) <= max_chars:
        return highlight(text, start, end)
    half = max_chars // 2
    lo = max(0, min(start - half, len(text) - max_chars))
    hi = min(len(text), lo + max_chars)
    note = f'<div class="zw-note">（全文 {len(text)} 字，此处显示引文前后 {hi - lo} 字）</div>'
    body = highlight(text[lo:hi], start - lo, end - lo)
    return note + ("…" if lo else "") + body + ("…" if hi < len(text) else "")


def meta_html(source: str | None, published: str | None) -> str:
    parts = [esc(source) if source else "未注明来源"]
    if published:
        parts.append(esc(fmt_date(published)))
    return '<div class="zw-meta">' + " · ".join(parts) + "</div>"


def citation_card(c: Citation, turn: int, article: Article | None) -> str:
    """A numbered source card; its <details> opens the whole article with the quote in place."""
    text = article.text if article is not None else None
    full = ""
    if text is not None and text[c.start : c.end] == c.quote:
        full = (
            '<details class="zw-article"><summary>打开全文</summary>'
            f'<div class="zw-fulltext">{full_text_html(text, c.start, c.end)}</div></details>'
        )
    return (
        f'<div class="zw-card" id="{card_id(turn, c.n)}" data-n="{c.n}">'
        f'<div class="zw-card-head"><span class="zw-n">{c.n}</span>'
        f'<span class="zw-title">{esc(c.title) or "（无标题）"}</span></div>'
        + meta_html(c.source, c.published)
        + f'<blockquote class="zw-passage">{passage_html(text, c)}</blockquote>'
        + full
        + "</div>"
    )


def suggestion_card(hit: Hit, i: int) -> str:
    text = " ".join(hit.text.split())
    if len(text) > SUGGESTION_CHARS:
        text = text[:SUGGESTION_CHARS] + "…"
    return (
        f'<div class="zw-card zw-suggestion" data-n="{i}">'
        f'<div class="zw-card-head"><span class="zw-n">{i}</span>'
        f'<span class="zw-title">{esc(hit.title) or "（无标题）"}</span></div>'
        + meta_html(hit.source, hit.published)
        + f'<blockquote class="zw-passage">{esc(text)}</blockquote></div>'
    )


def answer_html(
    answer: Answer,
    turn: int,
    articles: Mapping[str, Article],
    mode: str = "auto",
) -> str:
    """One assistant bubble: the answer, then its sources (or the nearest passages)."""
    text = convert_script(answer.answer, mode)
    cls = "zw-answer" if answer.answered else "zw-answer zw-notfound"
    out = [f'<div class="{cls}" data-turn="{turn}">']
    if answer.rewritten_question:
        out.append(f'<div class="zw-rewritten">已按上文理解为：{esc(answer.rewritten_question)}</div>')
    if answer.answered and answer.short_answer is not None:  # the span that answers, above its evidence
        short = link_markers(
            esc(f"{convert_script(answer.short_answer.text, mode)}[{answer.short_answer.n}]"),
            turn,
            (c.n for c in answer.citations),
        )
        out.append(f'<div class="zw-short"><strong>{short}</strong></div>')
    body = link_markers(esc_lines(text), turn, (c.n for c in answer.citations))
    out.append(f'<div class="zw-text">{body}</div>')
    if answer.answered and answer.citations:
        out.append('<div class="zw-sources"><div class="zw-sources-head">来源</div>')
        out.extend(citation_card(c, turn, articles.get(c.article_id)) for c in answer.citations)
        out.append("</div>")
    elif not answer.answered:
        if answer.suggestions:
            out.append('<div class="zw-sources"><div class="zw-sources-head">最接近的段落</div>')
            out.extend(suggestion_card(h, i) for i, h in enumerate(answer.suggestions, 1))
            out.append("</div>")
        else:
            out.append('<div class="zw-note">知识库里没有与问题相近的段落；可以在“知识库”页上传文章。</div>')
    out.append("</div>")
    return "".join(out)


def notice_html(text: str, kind: str = "error") -> str:
    """A bubble that is not an answer: `pending`, `loading` or `error`."""
    return f'<div class="zw-notice zw-{esc(kind)}">{esc_lines(text)}</div>'


def question_html(question: str) -> str:
    return f'<div class="zw-q">{esc_lines(question)}</div>'


@dataclass
class TurnRecord:
    """One question and what the chat showed for it (kept in the session, server side)."""

    question: str
    answer: Answer | None = None
    articles: dict[str, Article] = field(default_factory=dict)  # cited articles, by id
    notice: str | None = None  # shown instead of an answer (loading, error)
    notice_kind: str = "error"


PENDING = "正在查找相关文章…"


def chat_messages(turns: Sequence[TurnRecord], mode: str = "auto") -> list[dict[str, str]]:
    """The chat transcript as Gradio messages."""
    out: list[dict[str, str]] = []
    for i, t in enumerate(turns):
        out.append({"role": "user", "content": question_html(t.question)})
        if t.answer is not None:
            content = answer_html(t.answer, i + 1, t.articles, mode)
        elif t.notice is not None:
            content = notice_html(t.notice, t.notice_kind)
        else:
            content = notice_html(PENDING, "pending")
        out.append({"role": "assistant", "content": content})
    return out


# ---------------------------------------------------------------- knowledge base tab


def stats_html(stats: Mapping[str, Any] | None) -> str:
    if stats is None:
        return notice_html("知识库正在加载，请稍候几秒后刷新。", "loading")
    return (
        '<div class="zw-stats">'
        f'<span><b class="zw-count" data-kind="articles">{int(stats.get("articles", 0))}</b> 篇文章</span>'
        f'<span><b class="zw-count" data-kind="chunks">{int(stats.get("chunks", 0))}</b> 个段落</span>'
        f'<span class="zw-meta">向量模型：{esc(stats.get("embedder", ""))}</span>'
        "</div>"
    )


def article_html(a: Article, *, open_: bool = False) -> str:
    """One article of the list: a <details> row whose body is the whole (escaped) text."""
    text = a.text
    note = ""
    if len(text) > FULL_TEXT_CHARS:
        note = f'<div class="zw-note">（全文 {len(text)} 字，此处显示前 {FULL_TEXT_CHARS} 字）</div>'
        text = text[:FULL_TEXT_CHARS] + "…"
    url = ""
    if a.url and a.url.lower().startswith(("http://", "https://")):
        url = f' · <a href="{esc(a.url)}" target="_blank" rel="noopener noreferrer">原文链接</a>'
    return (
        f'<details class="zw-article-row" data-id="{esc(a.id)}"{" open" if open_ else ""}>'
        f'<summary><span class="zw-title">{esc(a.title) or "（无标题）"}</span> '
        f'<span class="zw-meta">{esc(a.source or "未注明来源")} · {esc(fmt_date(a.published)) or "日期不详"}'
        f" · {len(a.text)} 字</span></summary>"
        f'<div class="zw-meta">ID：<code class="zw-id">{esc(a.id)}</code>{url}</div>'
        f'{note}<div class="zw-fulltext">{esc_lines(text)}</div></details>'
    )


def article_list_html(articles: Sequence[Article], total: int, q: str | None = None) -> str:
    if not articles:
        what = f"标题或 ID 含“{esc(q)}”的文章" if q else "文章"
        return f'<div class="zw-note">没有找到{what}。</div>'
    head = f"共 {total} 篇" + (f"标题或 ID 含“{esc(q)}”的文章" if q else "文章")
    if total > len(articles):
        head += f"，显示最新的 {len(articles)} 篇"
    head += "（点击标题查看全文）"
    rows = "".join(article_html(a) for a in articles)
    return f'<div class="zw-list"><div class="zw-list-head">{head}</div>{rows}</div>'


def _file_error(err: Mapping[str, Any]) -> str:
    where = esc(err.get("path") or "")
    if err.get("line"):
        where += f" 第 {int(err['line'])} 行"
    return f"<li><code>{where}</code>：{esc(err.get('reason') or '')}</li>"


PHASES = {"queued": "排队中", "parsing": "读取文件", "indexing": "建立索引", "done": "完成"}


def job_html(job: Mapping[str, Any]) -> str:
    """Upload progress and result, with every per-file error (from server.jobs.Job.to_dict)."""
    status = job.get("status")
    out = [f'<div class="zw-job zw-job-{esc(status)}">']
    if status in ("queued", "running"):
        done, total = int(job.get("done") or 0), int(job.get("total") or 0)
        pct = int(100 * done / total) if total else 0
        out.append(
            f"<div>{PHASES.get(str(job.get('phase')), esc(job.get('phase')))}：{done}/{total}</div>"
            f'<progress max="100" value="{pct}"></progress>'
        )
    elif status == "succeeded":
        r = job.get("result") or {}
        out.append(
            f'<div class="zw-ok">已导入：新增 {int(r.get("added", 0))} 篇，更新 {int(r.get("updated", 0))} 篇，'
            f"未变 {int(r.get('unchanged', 0))} 篇（{int(r.get('chunks', 0))} 个段落）。</div>"
        )
    else:
        out.append(f'<div class="zw-bad">导入失败：{esc(job.get("message") or "未知原因")}</div>')
    errors = job.get("errors") or []
    if errors:
        out.append(f'<div class="zw-bad">{len(errors)} 个文件或记录未能导入：</div><ul class="zw-errors">')
        out.extend(_file_error(e) for e in errors)
        out.append("</ul>")
    out.append("</div>")
    return "".join(out)
