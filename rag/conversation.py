"""Follow-up questions without a model: resolve what a short follow-up refers to.

A follow-up such as `他后来调任什么职务？` or `这次全会有哪些人出席？` does not name its
subject; it is resolved from the conversation so far:

1. The earlier turns are folded oldest first. Each user turn is itself resolved against the
   turns before it (so a chain of follow-ups keeps its subject), and what it names is kept:
   people (jieba `nr`), places (`ns`), organisations (`nt`), meeting names
   (`十二届三次全会`, `经济工作会议`) and dates. Each assistant turn contributes the people,
   meetings, places and organisations of its cited quotes and of the titles of the articles
   it cited (or of its text when it carries no citations, as in OpenAI-style chats), their
   outlets, and the ids of the cited articles (preferred when the follow-up is searched).
2. The new question is rewritten when it needs a subject:
   * a person pronoun (他/她/他们/其, he/she/they/his/her/their) becomes the person
     (the last question's first, else the last answer's);
   * a demonstrative before a meeting noun (这次全会/该会/此次会议, that meeting) becomes the
     meeting's name;
   * a demonstrative before an article noun (这篇报道/本文, this article) gets the cited
     article's title and outlet in front;
   * an elliptical question (`这次呢？`, `what about ...?`) is appended to the last question;
   * words that only tie it to the turn before (后来, 还有, 然后) are dropped from the query;
   * any other demonstrative, or a short question with no subject of its own, gets the
     carried context (meetings, people, organisations, places and dates of the last
     question, else of the last answer) in front.
3. A question that names its own subject (a person, organisation or meeting of its own, or a
   place and no pronoun), or that is long enough to stand alone and has no pronoun, is left
   as it is.

The rewritten text keeps the question's script (Simplified, Traditional or English); carried
Chinese names are converted to it. Nothing here needs an index or a model.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from rag.entities import CJK, PERSON_PRONOUNS, Entities, add_new, entities, tagged_words
from rag.normalize import detect_script, simplified_question, to_script, to_simplified
from rag.records import Turn
from rag.span import WH

logger = logging.getLogger(__name__)

# Bounds on the work per question: only the latest turns matter, and of an answer only its
# first citations (each quote and text cut) are read.
MAX_TURNS = 8
MAX_CITATIONS = 5
MAX_TEXT_CHARS = 600

# Chinese pronouns and demonstratives (matched on jieba tokens of the Simplified text).
_PLURAL_PRONOUNS = frozenset({"他们", "她们"})
_DEMONSTRATIVE_START = ("这", "那", "该", "此", "本", "上述")
_NOT_DEMONSTRATIVE = frozenset(
    {"这样", "那样", "这么", "那么", "本人", "此外", "本来", "本身", "这里", "那里"}
)
_MEETING_NOUNS = frozenset({"会", "会议", "全会", "大会", "全体会议", "座谈会", "常委会"})
# Words that tie a follow-up to the turn before it (后来 = after what was just discussed) and
# name nothing to search for; dropped from a rewritten query.
_DISCOURSE = frozenset({"后来", "之后", "此后", "随后", "然后", "那么", "另外", "还有", "又", "还", "再"})
_ARTICLE_NOUNS = frozenset({"篇", "文", "报道", "文章", "新闻", "消息", "稿件", "报导", "采访", "专访"})

_EN_PERSON = re.compile(r"\b(he|she|him|they|them)\b", re.IGNORECASE)
_EN_POSSESSIVE = re.compile(r"\b(his|her|their)\b(?=\s+[A-Za-z])", re.IGNORECASE)
_EN_MEETING = re.compile(
    r"\b(?:this|that|the same)\s+(meeting|plenum|plenary(?: session)?|session|conference|congress|forum)\b",
    re.IGNORECASE,
)
_EN_ARTICLE = re.compile(r"\b(?:this|that|the)\s+(article|report|story|piece|interview)\b", re.IGNORECASE)
_EN_OTHER = re.compile(r"\b(it|its|this|that|these|those)\b", re.IGNORECASE)
_EN_ELLIPTIC = re.compile(r"^\s*(?:what about|how about|and)\b", re.IGNORECASE)
_WORDCHAR = re.compile(r"[\w\u3400-\u9fff]")


@dataclass(frozen=True, slots=True)
class FollowUpRules:
    """When a question is a follow-up and what it takes from the conversation: the `follow_up`
    section of the answer policy (rag/answer/policy.json), set by hand (no dev set of
    conversations to fit them on)."""

    # a question with no pronoun and no subject of its own stands alone from this many
    # characters (Chinese characters, letters and digits; punctuation not counted) or English words
    standalone_chars: int
    standalone_words: int
    # "这次呢？" (ending in 呢) / "What about …": a question of at most this many characters / words
    # asks the last one again
    elliptic_chars: int
    elliptic_words: int
    max_carried: int  # items put in front of a question
    max_people: int  # people substituted for 他们 / they


@dataclass(slots=True)
class Rewrite:
    """The retrieval query for a question asked in a conversation.

    `query == question` when nothing was carried over; `carried` lists what was put into the
    query; `prefer_articles` are the ids of the articles the last answer cited; `about`, the
    people a pronoun of the question stands for (他 → 陈江): whom it asks about; `asks`, for an
    elliptical question, what it asks in full (涉案金额呢 after 查获卷烟多少支: 涉案金额多少支？),
    the question its short answer is read against."""

    query: str
    prefer_articles: list[str] = field(default_factory=list)
    carried: list[str] = field(default_factory=list)
    about: list[str] = field(default_factory=list)
    asks: str | None = None


@dataclass(slots=True)
class _Notes:
    """What resolving a question found besides its rewrite (see `Rewrite`)."""

    about: list[str] = field(default_factory=list)
    asks: str | None = None


@dataclass(slots=True)
class _State:
    """What the conversation so far is about."""

    rules: FollowUpRules
    question: str | None = None  # the last user question, as resolved
    asked: Entities = field(default_factory=Entities)  # named by the last (resolved) question
    answered: Entities = field(default_factory=Entities)  # named by the last answer and its sources
    titles: list[str] = field(default_factory=list)  # of the articles the last answer cited
    outlets: list[str] = field(default_factory=list)
    article_ids: list[str] = field(default_factory=list)


def _own_subject(ent: Entities, has_pronoun: bool) -> bool:
    if ent.people or ent.orgs or ent.meetings or ent.names:
        return True
    return bool(ent.places) and not has_pronoun


def _length(text: str) -> int:
    return len(_WORDCHAR.findall(text))


def _answer_state(turn: Turn, state: _State) -> None:
    ent = Entities()
    titles: list[str] = []
    outlets: list[str] = []
    ids: list[str] = []
    for c in turn.citations[:MAX_CITATIONS]:
        ent.merge(entities(c.quote[:MAX_TEXT_CHARS]))
        add_new(titles, [c.title.strip(" .…·-—")])
        add_new(outlets, [c.source or ""])
        add_new(ids, [c.article_id])
    for t in titles:
        ent.merge(entities(t))
    if not turn.citations:
        ent.merge(entities(turn.content[:MAX_TEXT_CHARS]))
    ent.dates = []  # dates in quotes are answers (9月24日), not the topic
    state.answered = ent
    state.titles = titles
    state.outlets = outlets
    state.article_ids = ids


def _shown(items: Sequence[str], script: str) -> list[str]:
    return [to_script(x, script) if script != "en" and CJK.search(x) else x for x in items]


def _resolve(question: str, state: _State, notes: _Notes | None = None) -> tuple[str, list[str]]:
    """The rewritten question and what was carried (unchanged question, [] when nothing);
    `notes` receives whom its pronouns stand for and what an elliptical question asks."""
    if state.question is None and state.answered.is_empty() and not state.titles:
        return question, []
    script = detect_script(question)
    if script == "en":
        return _resolve_en(question, state, notes)
    return _resolve_zh(question, state, script, notes)


def _person_for(state: _State, plural: bool) -> list[str]:
    # English names of the question come last: the articles spell names in Chinese
    people = state.asked.people or state.answered.people or state.asked.names
    return people[: state.rules.max_people if plural else 1]


def _meeting_for(state: _State) -> str | None:
    meetings = state.asked.meetings or state.answered.meetings
    return meetings[0] if meetings else None


def _context_for(state: _State) -> list[str]:
    ctx = state.asked.context(state.rules.max_carried)
    if ctx:
        return ctx
    return state.answered.context(state.rules.max_carried)[:2]


def _article_context(state: _State) -> list[str]:
    return [*state.titles[:1], *[o for o in state.outlets[:1] if o]]


def _resolve_zh(
    question: str, state: _State, script: str, notes: _Notes | None = None
) -> tuple[str, list[str]]:
    simp = simplified_question(question)
    toks = tagged_words(simp)
    own = entities(question)
    pronouns: list[int] = []  # token indexes
    for i, (word, flag, _) in enumerate(toks):
        if word in PERSON_PRONOUNS or (
            flag.startswith(("r", "b"))
            and word.startswith(_DEMONSTRATIVE_START)
            and word not in _NOT_DEMONSTRATIVE
        ):
            pronouns.append(i)
    if _own_subject(own, bool(pronouns)):
        return question, []
    bare = re.sub(r"[\s？?！!。.，,]+", "", simp)
    if bare.endswith("呢") and len(bare) <= state.rules.elliptic_chars and state.question:
        # elliptical: "这次呢？" asks the last question again about something else
        last = _shown([state.question], script)[0]
        if notes is not None and (wh := WH.search(simplified_question(state.question))):
            # what it asks in full: its own words with the last question's question word
            # (涉案金额呢 after 查获卷烟多少支: 涉案金额多少支？, read by the span model as a
            # question on 涉案金额, where 涉案金额呢 has no question word to read)
            asked = re.sub(r"[\s？?！!。.，,]*呢[\s？?！!。.，,]*$", "", question).strip()
            if asked:
                notes.asks = f"{asked}{_shown([wh.group(0)], script)[0]}？"
        return f"{last} {question}", [last]
    if not pronouns and _length(question) >= state.rules.standalone_chars:
        return question, []
    # substitutions on the Simplified text; offsets are shared when t2s kept the length
    same_length = len(simp) == len(question)
    base = question if same_length else simp
    edits: list[tuple[int, int, str]] = []
    carried: list[str] = []
    prefix: list[str] = []
    for word, _, start in toks:
        if word in _DISCOURSE:
            edits.append((start, start + len(word), ""))
    for i in pronouns:
        word, _, start = toks[i]
        nxt = toks[i + 1][0] if i + 1 < len(toks) else ""
        if word in PERSON_PRONOUNS:
            people = _person_for(state, word in _PLURAL_PRONOUNS)
            if people:
                shown = "、".join(_shown(people, script))
                if word == "其" and nxt != "的":
                    shown += "的"
                edits.append((start, start + len(word), shown))
                add_new(carried, people)
                if notes is not None:
                    add_new(notes.about, people)
                continue
        else:
            meeting = _meeting_for(state)
            rest = word[len(next(p for p in _DEMONSTRATIVE_START if word.startswith(p))) :]
            if meeting and (nxt in _MEETING_NOUNS or rest in _MEETING_NOUNS or rest.endswith("会")):
                end = start + len(word) + (len(nxt) if nxt in _MEETING_NOUNS else 0)
                edits.append((start, end, _shown([meeting], script)[0]))
                add_new(carried, [meeting])
                continue
            if (nxt in _ARTICLE_NOUNS or rest in _ARTICLE_NOUNS) and state.titles:
                add_new(prefix, _article_context(state))
                continue
        add_new(prefix, _context_for(state))
    if not pronouns:
        add_new(prefix, _context_for(state))
    prefix = [p for p in prefix if to_simplified(p) not in simp and p not in carried]
    add_new(carried, prefix)
    if not carried:
        return question, []
    out = base
    for a, b, text in sorted(edits, key=lambda e: e[:2], reverse=True):
        out = out[:a] + text + out[b:]
    if prefix:
        out = " ".join(_shown(prefix, script)) + " " + out
    if not same_length:
        out = to_script(out, script)
    return out, _shown(carried, script)


def _resolve_en(question: str, state: _State, notes: _Notes | None = None) -> tuple[str, list[str]]:
    own = entities(question)
    has_pronoun = bool(
        _EN_PERSON.search(question)
        or _EN_POSSESSIVE.search(question)
        or _EN_MEETING.search(question)
        or _EN_ARTICLE.search(question)
        or _EN_OTHER.search(question)
    )
    # the first word of a question is capitalised anyway: not a name unless more follow
    first = question.strip().split()[0] if question.strip() else ""
    own.names = [n for n in own.names if not (n == first and " " not in n)]
    if _own_subject(own, has_pronoun):
        return question, []
    if (
        _EN_ELLIPTIC.search(question)
        and len(question.split()) <= state.rules.elliptic_words
        and state.question
    ):
        return f"{state.question} {question}", [state.question]
    if not has_pronoun and len(question.split()) >= state.rules.standalone_words:
        return question, []
    out = question
    carried: list[str] = []
    prefix: list[str] = []
    meeting = _meeting_for(state)
    if meeting and _EN_MEETING.search(out):
        out = _EN_MEETING.sub(meeting, out, count=1)
        carried.append(meeting)
    if state.titles and _EN_ARTICLE.search(out):
        add_new(prefix, _article_context(state))
    people = _person_for(state, plural=bool(re.search(r"\b(they|them|their)\b", out, re.IGNORECASE)))
    if people and (_EN_PERSON.search(out) or _EN_POSSESSIVE.search(out)):
        who = ", ".join(people)
        out = _EN_POSSESSIVE.sub(f"{who}'s", out)
        out = _EN_PERSON.sub(who, out)
        add_new(carried, people)
        if notes is not None:
            add_new(notes.about, people)
    if not carried and not prefix:
        add_new(prefix, _context_for(state))
    prefix = [p for p in prefix if p not in out]
    add_new(carried, prefix)
    if not carried:
        return question, []
    if prefix:
        out = " ".join(prefix) + " " + out
    return out, carried


def rewrite(question: str, history: Sequence[Turn], rules: FollowUpRules) -> Rewrite:
    """The retrieval query for `question` asked after `history` (oldest turn first), by the
    answer policy's follow-up `rules`."""
    state = _State(rules)
    for turn in list(history)[-MAX_TURNS:]:
        if turn.role == "user" and turn.content.strip():
            text = turn.content.strip()[:MAX_TEXT_CHARS]
            resolved, _ = _resolve(text, state)
            state.question = resolved
            state.asked = entities(resolved)
            # a new question: the answer before it no longer describes the topic
            state.answered = Entities()
            state.titles, state.outlets, state.article_ids = [], [], []
        elif turn.role == "assistant":
            _answer_state(turn, state)
    notes = _Notes()
    query, carried = _resolve(question, state, notes)
    if not carried:  # a question of its own: neither rewritten nor steered to the last sources
        return Rewrite(query=question)
    logger.debug("follow-up %r searched as %r (carried %s)", question, query, carried)
    return Rewrite(
        query=query,
        prefer_articles=list(state.article_ids),
        carried=carried,
        about=notes.about,
        asks=notes.asks,
    )
