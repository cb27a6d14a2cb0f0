"""Whether a candidate's article names whom or what the question is about (`named_miss`).

A proper word of the question (rag.answer.question.proper_words) counts as named by an
article that holds it; or holds its head, where the dictionary made it of a proper name and
more (杭州市政府: 杭州), or the abbreviation it ends with after that name (中国证监会:
证监会); or spells it with characters read the same (a transliteration
or a variant form: 塞维纳 for 赛维纳, 徐洲 for 徐州; CC-CEDICT's readings,
rag.cedict_table). An article that names none of these answers a question about 桦林县 only
by chance (another county's roads).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence

from rag.answer.candidates import Sentence
from rag.answer.question import Query, proper_heads, proper_tails
from rag.cedict_table import table
from rag.index import SentenceRows
from rag.normalize import canonical_terms
from rag.records import Hit
from rag.sentence_words import all_stored

_MARKS = 0xE000  # Unicode's private use area: one character per sound, never in article text


@functools.cache
def _sound_marks() -> dict[str, str]:
    """Each Chinese character of the dictionary -> one private-use character standing for its
    sound (its Latin letters stay themselves: A is no 阿)."""
    sounds = {ch: s for ch, s in table().sounds().items() if "\u3400" <= ch <= "\u9fff"}
    ids = {s: chr(_MARKS + i) for i, s in enumerate(sorted(set(sounds.values())))}
    return {ch: ids[s] for ch, s in sounds.items()}


@functools.cache
def _sound_table() -> dict[int, str]:
    """`_sound_marks` as a `str.translate` table (one pass in C over a whole article)."""
    return {ord(ch): mark for ch, mark in _sound_marks().items()}


def sounded(text: str) -> str:
    """`text` with every Chinese character the dictionary reads replaced by a mark of its sound,
    so that two spellings read the same compare equal (other characters stay)."""
    return text.translate(_sound_table())


def article_canon(hit: Hit, text: str, rows: SentenceRows | None) -> str:
    """The canonical text of an article's title and every sentence: joined from the stored
    canonical texts where all are stored, else converted now."""
    if rows is not None and len(rows) and len(rows.words) == len(rows):
        if all_stored(rows.words, rows.title, bool(hit.title)):
            title = rows.title.canon if rows.title is not None else ""
            return "\n".join([title, *(w.canon for w in rows.words if w is not None)])
    return canonical_terms(f"{hit.title}\n{text}")


def names(word: str, canon: str, heard: Callable[[], str]) -> bool:
    """Whether an article's canonical text `canon` names the proper word `word`: holds it, its
    head or tail (`proper_heads`, `proper_tails`), or a spelling read the same (`heard()`: `canon` sounded, worked out when needed)."""
    if word in canon or any(h in canon for h in (*proper_heads(word), *proper_tails(word))):
        return True
    return sounded(word) in heard()


def named_features(
    q: Query, sents: Sequence[Sentence], texts: Mapping[str, str], stored: Mapping[str, SentenceRows] | None
) -> None:
    """Set named_miss on every sentence: 1 when its article (title and text) does not name
    one of the question's proper words (`Query.proper`, `names`); a place the question writes
    before another proper word (`Query.within`: 上海 of 上海杨浦) is named by an article that
    names that word."""
    if not q.proper:
        return
    miss: dict[str, float] = {}
    for s in sents:
        aid = s.hit.article_id
        if aid not in miss:
            canon = article_canon(s.hit, texts[aid], (stored or {}).get(aid))
            heard = functools.cache(functools.partial(sounded, canon))  # sounded once, if at all
            named = all(
                names(w, canon, heard) or (w in q.within and names(q.within[w], canon, heard))
                for w in q.proper
            )
            miss[aid] = 0.0 if named else 1.0
        s.named_miss = miss[aid]
