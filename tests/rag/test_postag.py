"""rag.postag's tags are jieba's (`jieba.posseg.lcut`), word for word, and serving does not
load jieba's own dictionary for them."""

from __future__ import annotations

import subprocess
import sys

import jieba.posseg as pseg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rag import bm25
from rag.normalize import canonical_terms, to_simplified
from rag.postag import pos_tags
from tests.rag.test_bm25 import ALPHABET, MIXED, seed_sentences


def jieba_tags(text: str) -> list[tuple[str, str]]:
    return [(p.word, p.flag) for p in pseg.lcut(text)]


def test_seed_sentences_are_tagged_as_jieba_tags_them() -> None:
    sentences = seed_sentences()
    assert len(sentences) > 50
    for s in sentences:
        for text in (s, to_simplified(s), canonical_terms(s)):
            assert pos_tags(text) == jieba_tags(text), text


@pytest.mark.parametrize("text", MIXED)
def test_awkward_blocks_are_tagged_as_jieba_tags_them(text: str) -> None:
    for t in (text, canonical_terms(text)):
        assert pos_tags(t) == jieba_tags(t)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=40))
def test_any_text_is_tagged_as_jieba_tags_it(text: str) -> None:
    assert pos_tags(text) == jieba_tags(text)


def test_names_and_places_keep_their_tags() -> None:
    """What the answer stage reads: person names (nr) the dictionary does not hold, found by
    the HMM, and places (ns)."""
    tags = dict(pos_tags("长沙市委书记胡衡华在北京会见了李明。"))
    assert tags["胡衡华"].startswith("nr") and tags["北京"] == "ns"


def test_serving_never_loads_jiebas_dictionary() -> None:
    """Tokens, words and tags come from jieba-rs's dictionary and jieba's HMMs; jieba's own
    dictionary (a second or more to load) stays unloaded (a fresh interpreter, as a worker)."""
    code = (
        "import jieba\n"
        "from rag.postag import warm_up, pos_tags\n"
        "from rag.bm25 import cut, tokenize, tokenize_query\n"
        "warm_up()\n"
        "pos_tags('长沙市委书记胡衡华出席全会。'); cut('胡衡华出席全会'); tokenize('胡衡华出席全会')\n"
        "tokenize_query('谁出席了全会？')\n"
        "assert not jieba.dt.initialized, 'jieba loaded its dictionary'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_is_word_is_jiebas_dictionary() -> None:
    freq = bm25.segmenter().dt.FREQ
    sample = [w for i, w in enumerate(freq) if i % 97 == 0]
    assert len(sample) > 1000
    assert all(bm25.is_word(w) == bool(freq[w]) for w in sample)  # words yes, their prefixes no
    assert not bm25.is_word("胡衡华")


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.one_of(
            st.sampled_from("长沙市委书记胡衡华出席全会报告工作常在此孟阿姨说李明钓鱼的了是"),
            st.characters(min_codepoint=0x4E00, max_codepoint=0x9FD5),
        ),
        min_size=1,
        max_size=16,
    )
)
def test_the_hmm_finds_jiebas_route(run: str) -> None:
    """rag.postag's Viterbi over arrays gives the route of jieba's own (`posseg.viterbi`),
    ties included, for common and rare characters alike."""
    from jieba.posseg.viterbi import viterbi

    from rag.postag import _model

    _, want = viterbi(run, pseg.char_state_tab_P, pseg.start_P, pseg.trans_P, pseg.emit_P)
    assert _model()(run) == list(want)
