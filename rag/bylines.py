"""News credits: the reporters, correspondents, editors and photographers an article names for
who wrote it, not for what it tells.

A Chinese news article credits its people in a byline (（记者 张明）, 本网通讯员：王晓雪 李雅琴,
晚报新闻记者 周雅文, 责任编辑：王晓) or under a photo (韦立新 摄). Such a name answers no question
about the story: a "who" question about the event must not be answered by the reporter, and a
sentence holding only a reporter's name holds no person for the answer-type feature — unless
the question asks about the credits themselves (这篇报道的记者是谁？, `asks_about_credits`). A credit is
a role word of news credits (as a word, or ending one: 新闻记者, 责任编辑) followed by person
names, written apart from it (a space or a colon) or inside parentheses; or a person name
followed by 摄; or a short role and a slash before the names (文/林晓华). A role word running
into a name with nothing between, outside parentheses (美国记者斯诺访问了延安), is the story's
own person and no credit.
"""

from __future__ import annotations

import re

from rag.postag import PERSON_FLAGS
from rag.sentence_words import Tags
from rag.span import Span

# the roles news credits name (grammar of news, no entity): a word that is one of them or ends
# with one starts a credit
ROLES = ("记者", "通讯员", "编辑", "作者", "摄影", "实习生", "撰稿", "撰文", "校对", "审校", "通讯")
_APART = " \u3000：:"  # between a role and its first name
_BETWEEN = " \u3000：:、，,/"  # between the names of one credit
_OPEN, _CLOSE = "（(", "）)"
# a photo's credit: 韦立新 摄, 韦立新摄; written apart from its 摄, also where the caption runs on
# into the next paragraph with nothing between (韦立新 摄今年6月，…)
_PHOTO = re.compile(r"[\u4e00-\u9fff]{1,4}(?:[ \u3000]+摄|摄(?![\u4e00-\u9fff]))")
# a credit's short role and a slash before the names: （文/林晓华）, 图/王强, 文字/张明
_SLASHED = re.compile(r"(?<![\u4e00-\u9fff])(?:文|图|摄|文字|图文|视频)[ \u3000]*[/／][ \u3000]*")


def _in_parens(text: str, at: int) -> bool:
    """Whether position `at` is inside a parenthesis opened before it on the same line."""
    depth = 0
    for ch in reversed(text[:at]):
        if ch == "\n":
            break
        if ch in _CLOSE:
            depth += 1
        elif ch in _OPEN:
            if depth == 0:
                return True
            depth -= 1
    return False


def credits(text: str, tags: Tags) -> list[Span]:
    """The (start, end) of each credit in `text` (Simplified; `tags` its part-of-speech words,
    rag.postag), from its role word (or first name) to its last name."""
    starts = {a: k for k, (a, _, _) in enumerate(tags)}
    out: list[Span] = []
    k = 0
    while k < len(tags):
        a, b, flag = tags[k]
        word = text[a:b]
        if flag.startswith("n") and word.endswith(ROLES):
            end = _names_after(text, tags, starts, b, apart_needed=not _in_parens(text, a))
            if end is not None:
                out.append((a, end))
                while k < len(tags) and tags[k][0] < end:
                    k += 1
                continue
        elif flag in PERSON_FLAGS and (m := _PHOTO.match(text, a)):
            out.append(m.span())  # the name's run of characters, a few at most (jieba may cut a name in two)
            while k < len(tags) and tags[k][0] < m.end():
                k += 1
            continue
        elif (m := _SLASHED.match(text, a)) and (
            end := _names_after(text, tags, starts, m.end(), apart_needed=False)
        ):
            out.append((a, end))
            while k < len(tags) and tags[k][0] < end:
                k += 1
            continue
        k += 1
    return out


def _names_after(text: str, tags: Tags, starts: dict[int, int], at: int, *, apart_needed: bool) -> int | None:
    """Where the names following a role word ending at `at` end (another role word and its
    names included), or None when no name follows as a credit's does."""
    gap = at
    while gap < len(text) and text[gap] in _APART:
        gap += 1
    if apart_needed and gap == at:
        return None
    end = None
    pos = gap
    while pos in starts:
        _, b, flag = tags[starts[pos]]
        word = text[pos:b]
        if flag in PERSON_FLAGS:
            end = pos = b
        elif end is not None and flag.startswith("n") and word.endswith(ROLES):
            pos = b  # 记者 张强 通讯员 赵丽华: the next role's names belong to the same credit
        else:
            break
        while pos < len(text) and text[pos] in _BETWEEN:
            pos += 1
    return end


def asks_about_credits(question: str) -> bool:
    """Whether a question (Simplified) names one of the credited roles: then a credit is what
    it asks for."""
    return any(role in question for role in ROLES)


def outside_credits(spans: list[Span], found: list[Span]) -> list[Span]:
    """`spans` less those that overlap a credit of `found`."""
    if not found:
        return spans
    return [(a, b) for a, b in spans if not any(a < y and x < b for x, y in found)]
