"""rag.span_text: the candidate spans of a sentence and the text tables the span features are
read from (each against a plain, one-at-a-time count)."""

from __future__ import annotations

import itertools
import random
import re

from rag.answer import Policy
from rag.span import CLAUSE, found_literal, hollow
from rag.span_text import candidate_spans, closed_end, matches, prefix_runs, suffix_runs

RULES = Policy.load().spans


def test_the_anchor_runs_equal_a_character_by_character_count() -> None:
    """`suffix_runs` / `prefix_runs` (every position at once) against the plain count."""

    def suffix(a: str, b: str) -> int:
        n = 0
        while n < min(len(a), len(b)) and a[len(a) - 1 - n] == b[len(b) - 1 - n]:
            n += 1
        return n

    def prefix(a: str, b: str) -> int:
        n = 0
        while n < min(len(a), len(b)) and a[n] == b[n]:
            n += 1
        return n

    rng = random.Random(5)
    for _ in range(300):
        ss = "".join(rng.choice("甲乙丙丁,a") for _ in range(rng.randrange(0, 25)))
        q = "".join(rng.choice("甲乙丙丁,a") for _ in range(rng.randrange(0, 6)))
        cap = rng.randrange(1, 9)
        assert suffix_runs(q, ss, cap).tolist() == [
            suffix(q, ss[max(0, i - cap) : i]) for i in range(len(ss) + 1)
        ]
        assert prefix_runs(q, ss, cap).tolist() == [prefix(q, ss[i : i + cap]) for i in range(len(ss) + 1)]


def test_a_literal_is_found_where_its_escaped_pattern_matches() -> None:
    rng = random.Random(7)
    for _ in range(300):
        ss = "".join(rng.choice("甲乙甲.?") for _ in range(rng.randrange(0, 20)))
        lit = "".join(rng.choice("甲乙.?") for _ in range(rng.randrange(0, 3)))
        assert found_literal(lit, ss) == matches(re.escape(lit), ss)


def test_candidate_spans_stay_inside_clauses_and_hold_the_rules_pick() -> None:
    ss = "这条地铁线由城东轨道交通公司负责运营，全长约二十公里。"
    cuts = [0, 2, 4, 5, 6, 8, 10, 12, 14, 16, 18, 19, 21, 22, 24, 26, 27]  # word edges
    words = [(a, b, "n") for a, b in itertools.pairwise(cuts)]
    rule = (7, 13)  # cuts words: a candidate only as the rules' pick
    spans = candidate_spans(ss, words, rule, RULES.max_chars, RULES)
    assert spans == sorted(set(spans)) and rule in spans
    for a, b in spans:
        assert 0 <= a < b <= len(ss) and b - a <= RULES.max_chars
        assert ss[a] not in CLAUSE and ss[b - 1] not in CLAUSE + " "
        assert not hollow(ss[a:b])
    assert (ss.index("二十"), ss.index("公里") + 2) in spans  # a number with its unit
    # the rules' pick is added to the candidates, nothing else changes
    assert set(candidate_spans(ss, words, None, RULES.max_chars, RULES)) | {rule} == set(spans)


def test_a_span_that_opens_a_bracket_is_closed_where_its_clause_closes_it() -> None:
    ss = "全市调整为防汛黄色(三级)预警响应，《城市规划》同时实施。"
    at = ss.index("黄色")
    for end in (ss.index("三"), ss.index("级") + 1):  # stopping inside: closed
        assert ss[at : closed_end(ss, at, end, 20)] == "黄色(三级)"
    assert closed_end(ss, at, at + 2, 20) == at + 2  # opening none: as it was
    assert closed_end(ss, at, ss.index("三"), 4) == ss.index("三")  # past `longest`: as it was
    # a bracket the clause does not close stays open
    assert closed_end("他说(后来", 2, 5, 20) == 5


def test_a_transliterated_name_across_a_middle_dot_is_one_word() -> None:
    """jieba cuts 彼得·科斯费尔德 into 彼得 / · / 科 (a noun) / 斯费尔德: joined, tagged nrt."""
    from rag.postag import tagged
    from rag.span_text import names_joined

    def joined(s: str) -> list[tuple[str, str]]:
        return [(s[a:b], flag) for a, b, flag in names_joined(s, tagged(s))]

    assert ("彼得·科斯费尔德", "nrt") in joined("俱乐部主教练彼得·科斯费尔德说")
    both = joined("彼得·科斯费尔德和卡尔·齐默尔曼会面")  # two names, not one
    assert ("彼得·科斯费尔德", "nrt") in both and ("卡尔·齐默尔曼", "nrt") in both
    assert ("约翰·菲茨杰拉德·肯尼迪", "nrt") in joined("约翰·菲茨杰拉德·肯尼迪遇刺")
    # a dot that joins no person's name, or a word that is no name, is left alone
    for text in ("2023·中国国际车展开幕", "美国·纽约", "他说·我们走", "首席执行官·主席"):
        assert [w for w, _ in joined(text)] == [text[a:b] for a, b, _ in tagged(text)]
    assert names_joined("没有圆点", tagged("没有圆点")) == list(tagged("没有圆点"))


def test_joining_names_keeps_the_words_covering_the_text_whatever_the_input() -> None:
    """Random texts of names, dots and other words, tagged at random: every word of the result
    is one word of the input or consecutive ones joined, in order, covering the same text."""
    from rag.span_text import NAME_DOTS, names_joined

    rng = random.Random(7)
    pieces = ["·", "•", "・", "科", "斯", "李明", "彼得", "说", "和", "2023", "，", "中国"]
    flags = ["nr", "nrt", "nrfg", "n", "ns", "v", "x", "m", "c"]
    for _ in range(500):
        parts = [rng.choice(pieces) for _ in range(rng.randint(0, 8))]
        text = "".join(parts)
        words, at = [], 0
        for p in parts:
            words.append((at, at + len(p), rng.choice(flags)))
            at += len(p)
        out = names_joined(text, words)
        assert [(a, b) for a, b, _ in out] == sorted((a, b) for a, b, _ in out)
        assert all(b1 == a2 for (_, b1, _), (a2, _, _) in itertools.pairwise(out))
        assert (out[0][0], out[-1][1]) == (0, len(text)) if out else not words
        starts, ends = {a for a, _, _ in words}, {b for _, b, _ in words}
        for a, b, flag in out:
            assert a in starts and b in ends
            if (a, b, flag) not in words:  # joined: a name across a dot
                assert flag == "nrt" and any(ch in NAME_DOTS for ch in text[a:b])
