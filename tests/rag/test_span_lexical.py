"""rag.span_lexical: the hashed words and characters at a candidate span's edges, and how the
span model weighs them (sentences written for these tests)."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
import zlib

import numpy as np
import pytest

from rag.answer import POLICY_FILE, Policy, policy_from_dict, write_policy
from rag.answer.policy import SPAN_LEXICAL_FILE, SentenceModel
from rag.normalize import fold_width, to_simplified
from rag.postag import tagged
from rag.span import WH
from rag.span_features import FEATURE_NAMES, candidates
from rag.span_lexical import BUCKETS, TEMPLATES, asked_noun, bucket, keys, pos_class
from rag.span_rank import SpanModel, best_span

RULES = Policy.load().spans
SHIPPED = Policy.load().span_model

QUESTION = "这条地铁线由哪家公司负责运营？"
SENTENCE = "这条地铁线由城东轨道交通公司负责运营，全长约二十公里。"


def span_keys(question: str, sentence: str, span: tuple[int, int]) -> dict[str, int]:
    got = keys(question, sentence, [span], tagged(sentence), asked_in(question))
    return dict(zip(TEMPLATES, got[0].tolist(), strict=True))


def test_the_buckets_are_crc32_the_same_in_every_process() -> None:
    """Python's `hash` of a string changes with every process; the weights were fitted in
    another one, so the bucket must not."""
    assert bucket("word_before:由") == zlib.crc32("word_before:由".encode()) % BUCKETS
    code = "from rag.span_lexical import bucket; print(bucket('word_before:由'))"
    env = {"PYTHONHASHSEED": "123"}
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert int(other.stdout) == bucket("word_before:由")


def test_the_edges_of_a_span_are_its_neighbours_and_its_own_first_and_last_words() -> None:
    at = (SENTENCE.index("城东"), SENTENCE.index("负责"))
    got = span_keys(QUESTION, SENTENCE, at)
    assert got["char_before"] == bucket("char_before:由")
    assert got["char_after"] == bucket("char_after:负")
    assert got["word_before"] == bucket("word_before:由")
    assert got["word_after"] == bucket("word_after:负责")
    assert got["wh_word_before"] == bucket("wh_word_before:哪家|由")
    assert got["q_char_before_wh_char_before"] == bucket("q_char_before_wh_char_before:由|由")
    # the sentence's start and end, and an edge inside a word, are their own values
    whole = span_keys(QUESTION, SENTENCE, (0, len(SENTENCE)))
    assert whole["char_before"] == bucket("char_before:^") and whole["char_after"] == bucket("char_after:$")
    inside = span_keys(QUESTION, SENTENCE, (at[0] + 1, at[1]))
    assert inside["first_word"] == bucket("first_word:~")


def test_names_and_nouns_enter_as_their_class_never_as_themselves() -> None:
    """Two sentences that differ only in a person's name (or a noun) give the same keys: no
    weight can belong to an entity. The one exception is a character, never a word: the span's
    last character, crossed with the noun the question asks for (院 after 学校 asked), which
    can be the last of a name (国 of 张建国)."""
    question = "谁主持了会议？"
    one, other = "会议由张建国主持。", "会议由李明华主持。"
    span = (3, 6)
    words_only = [k for k, t in enumerate(TEMPLATES) if t != "type_last_char"]
    assert [w for w in tagged(one) if w[2].startswith("nr")], "the test needs jieba to tag the name"
    assert (
        keys(question, one, [span], tagged(one))[:, words_only].tolist()
        == keys(question, other, [span], tagged(other))[:, words_only].tolist()
    )
    noun_a, noun_b = "会议由张建国主持。", "讲座由张建国主持。"
    got_a = keys(question, noun_a, [(0, 2), (3, 6), (2, 7)], tagged(noun_a))
    got_b = keys(question, noun_b, [(0, 2), (3, 6), (2, 7)], tagged(noun_b))
    # the noun itself, or the span after it
    assert got_a[:2, words_only].tolist() == got_b[:2, words_only].tolist()
    # a span right after the noun: the word before it is the noun's class; the one character
    # before it enters as it is (a character is not an entity)
    words = [k for k, t in enumerate(TEMPLATES) if "word" in t]
    assert got_a[2, words].tolist() == got_b[2, words].tolist()
    assert got_a[2, TEMPLATES.index("char_before")] != got_b[2, TEMPLATES.index("char_before")]


def lexical_model(weights: dict[str, float]) -> SpanModel:
    """A model that weighs nothing but the named lexical features (as 'template:value')."""
    v = np.zeros(BUCKETS, dtype=np.float32)
    for feature, w in weights.items():
        v[bucket(feature)] += w
    zero = tuple(0.0 for _ in FEATURE_NAMES)
    return SpanModel(FEATURE_NAMES, zero, 0.0, lexical_templates=TEMPLATES, lexical=v)


def test_the_lexical_weights_move_the_pick() -> None:
    """With nothing else weighed, a large weight on "the span follows 由 and precedes 负责"
    picks the company; on "the span ends the sentence" a span reaching the end."""
    a, b = best_span(
        QUESTION,
        "other",
        SENTENCE,
        RULES,
        lexical_model({"wh_word_before:哪家|由": 5.0, "word_after:负责": 5.0}),
    )
    assert SENTENCE[a:b] == "城东轨道交通公司"
    a, b = best_span(QUESTION, "other", SENTENCE, RULES, lexical_model({"char_after:。": 9.0}))
    assert SENTENCE[b] == "。"


def test_a_model_with_lexical_weights_needs_the_keys() -> None:
    found = candidates(QUESTION, "other", SENTENCE, RULES)
    model = lexical_model({"word_after:负责": 1.0})
    with pytest.raises(ValueError, match="no keys"):
        model.pick(found.expanded(), found.kind)
    assert model.pick(found.expanded(), found.kind, found.keys)[0] >= 0


def test_lexical_weights_for_other_templates_or_buckets_are_refused_with_the_fix() -> None:
    model = lexical_model({})
    for bad in (
        dataclasses.replace(model, lexical_templates=TEMPLATES[:-1]),
        dataclasses.replace(model, lexical=np.zeros(BUCKETS // 2, dtype=np.float32)),
    ):
        with pytest.raises(ValueError, match=r"bench/fit_spans\.py"):
            bad.check()


def test_the_shipped_model_weighs_lexical_features_read_from_beside_the_policy() -> None:
    assert SHIPPED.lexical_file == SPAN_LEXICAL_FILE and (POLICY_FILE.parent / SPAN_LEXICAL_FILE).is_file()
    assert SHIPPED.lexical is not None and SHIPPED.lexical.shape == (BUCKETS,)
    assert SHIPPED.lexical_templates == TEMPLATES
    SHIPPED.check()
    # fitted: many buckets moved, and a grammar word at the edge weighs something
    assert np.count_nonzero(SHIPPED.lexical) > 1000
    assert abs(float(SHIPPED.lexical[bucket("char_after:。")])) > 0.0


def with_lexical_file() -> Policy:
    """The shipped policy naming a lexical file and no trees (written alone into a folder)."""
    shipped = Policy.load()
    span_model = dataclasses.replace(
        shipped.span_model, trees_file="", lexical_file=SPAN_LEXICAL_FILE, lexical_templates=TEMPLATES
    )
    return dataclasses.replace(shipped, span_model=span_model, sentence_model=SentenceModel())


def test_written_lexical_weights_sit_beside_the_policy_and_a_stale_file_is_removed(tmp_path) -> None:
    out = tmp_path / POLICY_FILE.name
    shipped = with_lexical_file()
    weights = np.linspace(-1, 1, BUCKETS, dtype=np.float32)
    write_policy(shipped, out, lexical_weights=weights)

    def reread() -> Policy:
        return policy_from_dict(json.loads(out.read_text(encoding="utf-8")), str(out), tmp_path)

    assert np.array_equal(reread().span_model.lexical, weights)
    without = dataclasses.replace(
        shipped,
        span_model=dataclasses.replace(
            shipped.span_model, lexical_file="", lexical_templates=(), lexical=None
        ),
    )
    write_policy(without, out)
    assert not (tmp_path / SPAN_LEXICAL_FILE).exists() and reread().span_model.lexical is None
    with pytest.raises(ValueError, match="lexical_file"):
        write_policy(without, out, lexical_weights=weights)


def test_a_broken_lexical_file_is_refused_with_the_command_to_rewrite_it(tmp_path) -> None:
    out = tmp_path / POLICY_FILE.name
    write_policy(with_lexical_file(), out, lexical_weights=np.zeros(BUCKETS, dtype=np.float32))
    raw = json.loads(out.read_text(encoding="utf-8"))
    for content in (b"not numpy", None):
        if content is None:
            np.save(tmp_path / SPAN_LEXICAL_FILE, np.array([np.nan] * 4))
        else:
            (tmp_path / SPAN_LEXICAL_FILE).write_bytes(content)
        with pytest.raises(ValueError, match=r"bench/fit_spans\.py"):
            policy_from_dict(raw, str(out), tmp_path)


def one_by_one(
    qs: str, ss: str, spans: list[tuple[int, int]], words: list[tuple[int, int, str]], asked: str = ""
) -> list[list[int]]:
    """The keys computed span by span from their definition (the oracle of the gathered tables)."""
    m = WH.search(qs)
    wh = m.group(0) if m else "-"
    q_before = qs[m.start() - 1] if m and m.start() > 0 else "^"

    def word(x: int, y: int, flag: str) -> str:
        return f"<{pos_class(flag)}>" if pos_class(flag) in ("name", "noun", "latin", "num") else ss[x:y]

    def ending(i: int) -> str:
        got = [word(x, y, f) for x, y, f in words if y == i]
        return got[0] if got else ("^" if i == 0 else "~")

    def starting(i: int) -> str:
        got = [word(x, y, f) for x, y, f in words if x == i]
        return got[0] if got else ("$" if i == len(ss) else "~")

    out = []
    for a, b in spans:
        edges = (
            ss[a - 1] if a else "^",
            ss[b] if b < len(ss) else "$",
            ending(a),
            starting(b),
            starting(a),
            ending(b),
        )
        noun = asked or "-"
        values = (
            *edges,
            *(f"{wh}|{e}" for e in edges),
            f"{q_before}|{edges[0]}",
            f"{noun}|{ss[b - 1]}",
            f"{noun}|{edges[5]}",
        )
        out.append([bucket(f"{t}:{v}") for t, v in zip(TEMPLATES, values, strict=True)])
    return out


@pytest.mark.parametrize(
    ("question", "sentence"),
    [
        (QUESTION, SENTENCE),
        ("谁主持了会议？", "会议由市委书记张建国主持，2019年9月24日召开。"),
        ("What is it?", "Apple公司于1976年成立（总部在加州）"),
    ],
)
def test_the_gathered_keys_equal_the_keys_span_by_span(question: str, sentence: str) -> None:
    found = candidates(question, "other", sentence, RULES)
    assert len(found.spans) > 10
    qs = found_q(question)
    assert found.keys.tolist() == one_by_one(qs, found.ss, found.spans, tagged(found.ss), asked_in(qs))
    assert keys(found_q(question), found.ss, [], tagged(found.ss)).shape == (0, len(TEMPLATES))


def found_q(question: str) -> str:
    return fold_width(to_simplified(question))


def asked_in(qs: str) -> str:
    """The noun `qs` asks for, as the span model finds it: `asked_noun` of the words past the wh-word."""
    m = WH.search(qs)
    rest = re.sub(r"[？?。.！!\s]+$", "", qs[m.end() :]) if m else ""
    return asked_noun(m.group(0) if m else "", [(rest[x:y], flag) for x, y, flag in tagged(rest)])


@pytest.mark.parametrize(
    ("question", "asked"),
    [
        ("李明毕业于什么学校？", "学校"),
        (QUESTION, "公司"),
        ("这种文字是由哪一个国王所改革的？", "国王"),
        ("谁提出了这一理论？", ""),  # a verb follows the wh-word
        ("昨天开了什么会？", "会"),  # after 什么 a noun, though jieba tags this 会 a verb
        ("全会通过了什么决定？", "决定"),  # likewise
        ("这是什么的一部分？", ""),  # a grammar word
        ("多少学生报名了？", "学生"),  # a common noun after another wh-word
        ("谁是学校的校长？", ""),  # not a noun
        ("他是哪里人？", ""),  # 哪里 is no determiner: a place is asked, not a 人
        ("他们住在哪里？", ""),  # nothing follows it
    ],
)
def test_the_asked_noun_is_the_common_noun_right_after_the_wh_word(question: str, asked: str) -> None:
    assert asked_in(found_q(question)) == asked


def test_the_asked_noun_is_crossed_with_the_spans_last_character_and_word() -> None:
    """公司 asked: a weight on (公司, a span ending in 司) picks the company; on (公司, a
    span ending in a noun) a span ending in one — the noun entering as its class."""
    span = best_span(QUESTION, "other", SENTENCE, RULES, lexical_model({"type_last_char:公司|司": 5.0}))
    assert span is not None and SENTENCE[span[1] - 1] == "司"
    got = span_keys(QUESTION, SENTENCE, (6, 14))  # 城东轨道交通公司
    assert got["type_last_char"] == bucket("type_last_char:公司|司")
    assert got["type_last_word"] == bucket("type_last_word:公司|<noun>")
    other = span_keys("这条地铁线由谁负责运营？", SENTENCE, (6, 14))
    assert other["type_last_char"] == bucket("type_last_char:-|司")
