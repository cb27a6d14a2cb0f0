"""rag.sentence_words: what answering reads of a sentence, computed once at index time."""

from __future__ import annotations

import pytest

from rag.bm25 import cut, tokenize
from rag.normalize import canonical_terms, simplify_with_map
from rag.postag import tagged
from rag.sentence_words import SentenceWords, all_stored, analyse, analyse_many

TEXTS = (
    "中共長沙市第十三屆委員會第八次全體會議召開，胡衡華出席。",
    "市领导程水泉出席，全市的水质持续改善。",
    "２０１９年ＧＤＰ增长三个百分点，达到１２３４５亿元",
    "威廉·琼斯在1563年成为首都的市长",
    "",
    "   ",
)


@pytest.mark.parametrize("text", TEXTS)
def test_the_words_are_the_ones_each_part_of_answering_computed_itself(text: str) -> None:
    """Canonical text as matched against question terms, jieba's words of it, and the tags of
    the Simplified text the span model reads: each what its own function gives."""
    words = analyse(text)
    assert words.canon == canonical_terms(text)
    assert [words.canon[a:b] for a, b in _spans(words.word_lengths)] == cut(words.canon)
    assert words.tags == tagged(simplify_with_map(text)[0])


def test_one_pass_gives_the_same_words_and_the_bm25_tokens() -> None:
    got = analyse_many(list(TEXTS))
    assert [w for w, _ in got] == [analyse(t) for t in TEXTS]
    assert [tokens for _, tokens in got] == [tokenize(t) for t in TEXTS]


@pytest.mark.parametrize("text", TEXTS)
def test_stored_words_read_back_as_they_were(text: str) -> None:
    words = analyse(text)
    assert SentenceWords.decoded(*words.encoded()) == words


def test_stored_words_that_do_not_fit_their_text_are_refused_when_used() -> None:
    canon, lengths, tags = analyse("市领导程水泉出席").encoded()
    lazy = SentenceWords.decoded(
        canon, lengths + " 1", tags
    )  # read whole articles at a time: parsed when used
    assert lazy.canon == canon
    with pytest.raises(ValueError, match="do not cover"):
        _ = lazy.lone_chars
    with pytest.raises(ValueError, match="do not cover"):
        SentenceWords.decoded(canon, lengths + " 1", tags).check()
    with pytest.raises(ValueError, match="do not cover"):
        SentenceWords.decoded(canon, "0 " + lengths, tags).check()
    with pytest.raises(ValueError, match="length \\+ flag"):
        SentenceWords.decoded(canon, lengths, tags + " x1").check()


def test_a_character_is_lone_only_where_it_is_a_word_of_its_own() -> None:
    assert "水" not in analyse("市领导程水泉出席").lone_chars
    assert "水" in analyse("市领导程水泉出席，喝上了放心水").lone_chars


def _spans(lengths: tuple[int, ...]) -> list[tuple[int, int]]:
    out, at = [], 0
    for n in lengths:
        out.append((at, at + n))
        at += n
    return out


def test_an_article_s_words_are_complete_only_with_every_sentence_s_and_its_title_s() -> None:
    words = [analyse("市政府提出了方案。"), analyse("方案被搁置。")]
    title = analyse("方案搁置")
    assert all_stored(words, title, titled=True)
    assert all_stored(words, None, titled=False)  # no title: none to store
    assert not all_stored(words, None, titled=True)
    assert not all_stored([words[0], None], title, titled=True)
