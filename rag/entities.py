"""What a text names, for following a conversation (rag.conversation): people, places and
organisations (jieba's part of speech), meeting names (十二届三次全会, 经济工作会议), dates,
and an English text's capitalised names, each list in order of appearance, Simplified.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from rag.normalize import canonical_terms, to_simplified
from rag.postag import PERSON_FLAGS

# Chinese person pronouns (rag.conversation resolves them; a meeting name never runs back over one)
PERSON_PRONOUNS = frozenset({"他", "她", "他们", "她们", "其"})
_NUM = "\\d一二三四五六七八九十百零〇"
# 十二届三次全会, 第十二届委员会第三次全体会议, 十九届五中全会
_PLENUM = re.compile(
    rf"第?([{_NUM}]+)届(?:[\u4e00-\u9fff]{{0,8}}?委员会)?第?([{_NUM}]+)([次中])(?:全会|全体会议)"
)
_MEETING_SUFFIXES = (
    "全体会议",
    "座谈会",
    "常委会",
    "代表大会",
    "党代会",
    "全会",
    "会议",
    "大会",
    "论坛",
    "峰会",
)
_NAME_FLAGS = ("n", "nz", "vn", "ns", "nt", "j", "nr", "l", "an")
_DATE = re.compile(
    r"\d{4}年(?:\d{1,2}月(?:\d{1,2}[日号])?)?|\d{1,2}月\d{1,2}[日号]|[〇○零一二三四五六七八九]{4}年"
    r"|\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.? \d{1,2}(?:, \d{4})?\b"
    r"|\b(?:19|20)\d{2}\b"
)


_EN_FUNCTION_WORDS = frozenset(
    "what who whom whose when where which why how is are was were did do does the a an in on at of and or "
    "to for by with from about tell please list name could would can".split()
)
_EN_NAME = re.compile(r"\b[A-Z][a-zA-Z'-]+(?:\s+[A-Z][a-zA-Z'-]+)*")
CJK = re.compile(r"[\u3400-\u9fff]")


@dataclass(slots=True)
class Entities:
    """Names found in a text, in order of appearance, Simplified."""

    people: list[str] = field(default_factory=list)
    places: list[str] = field(default_factory=list)
    orgs: list[str] = field(default_factory=list)
    meetings: list[str] = field(default_factory=list)
    dates: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)  # English capitalised names (kind unknown)

    def merge(self, other: Entities) -> None:
        for mine, theirs in (
            (self.people, other.people),
            (self.places, other.places),
            (self.orgs, other.orgs),
            (self.meetings, other.meetings),
            (self.dates, other.dates),
            (self.names, other.names),
        ):
            add_new(mine, theirs)

    def is_empty(self) -> bool:
        return not (self.people or self.places or self.orgs or self.meetings or self.dates or self.names)

    def context(self, max_items: int) -> list[str]:
        """What is put in front of a question with no subject, most specific first (at most
        `max_items`)."""
        out: list[str] = []
        add_new(out, self.meetings)
        add_new(out, self.people[:2])
        add_new(out, self.names[:2])
        add_new(out, self.orgs[:1])
        if not self.orgs and not self.meetings:
            add_new(out, self.places[:1])
        add_new(out, self.dates[:1])
        return _dedupe_contained(out)[:max_items]


def add_new(out: list[str], items: Sequence[str]) -> None:
    """Append to `out` each of `items` not empty and not in it yet."""
    for x in items:
        if x and x not in out:
            out.append(x)


def _dedupe_contained(items: list[str]) -> list[str]:
    """Drop items contained in another item (南城 when 南城市委 is there)."""
    return [x for x in items if not any(x != y and x in y for y in items)]


def tagged_words(simplified: str) -> list[tuple[str, str, int]]:
    """jieba (word, flag, start) over Simplified text."""
    from rag.postag import tagged

    return [(simplified[a:b], flag, a) for a, b, flag in tagged(simplified)]


def _meeting_display(m: re.Match[str]) -> str:
    return f"{m.group(1)}届{m.group(2)}{m.group(3)}全会"


def entities(text: str) -> Entities:
    """People, places, organisations, meeting names and dates named in `text` (Simplified)."""
    simp = to_simplified(text)
    ent = Entities()
    for m in _PLENUM.finditer(simp):
        add_new(ent.meetings, [_meeting_display(m)])
    plenum_spans = [(m.start(), m.end()) for m in _PLENUM.finditer(simp)]
    toks = tagged_words(simp)
    for i, (word, flag, start) in enumerate(toks):
        if len(word) < 2 or not CJK.search(word):
            continue
        if flag in PERSON_FLAGS:
            add_new(ent.people, [word])
        elif flag == "ns":
            add_new(ent.places, [word])
        elif flag == "nt":
            add_new(ent.orgs, [word])
        if word.endswith(_MEETING_SUFFIXES) and not any(a <= start < b for a, b in plenum_spans):
            # a meeting name: the noun-like words right before the meeting word
            j = i
            while j > 0 and i - j < 4:
                w, f, _ = toks[j - 1]
                if (
                    not f.startswith(_NAME_FLAGS)
                    or len(w) < 2
                    or not CJK.search(w)
                    or w.endswith(_MEETING_SUFFIXES)
                    or w in PERSON_PRONOUNS
                ):
                    break
                j -= 1
            if j < i:
                name = "".join(w for w, _, _ in toks[j : i + 1])
                if len(name) <= 16:
                    add_new(ent.meetings, [name])
    add_new(ent.dates, [m.group(0) for m in _DATE.finditer(simp)])
    for m in _EN_NAME.finditer(text):
        words = [w for w in m.group(0).split() if w.lower() not in _EN_FUNCTION_WORDS]
        if words:
            add_new(ent.names, [" ".join(words)])
    ent.meetings = _dedupe_canonical(ent.meetings)
    return ent


def _dedupe_canonical(items: list[str]) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for x in items:
        c = canonical_terms(x)
        if c not in seen:
            seen.add(c)
            out.append(x)
    return out
