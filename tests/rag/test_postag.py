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


def test_the_hmm_is_jiebas_from_many_threads_while_its_table_grows() -> None:
    """Server threads tag questions at once: a fresh tagger, its character table grown (from
    256 rows, doubling) by several threads at the same time, still finds jieba's route for
    every run (a row written late or lost in a copy would give another route)."""
    import random
    from concurrent.futures import ThreadPoolExecutor

    from jieba.posseg.viterbi import viterbi

    from rag.postag import _jieba_module, _Viterbi

    tagger = _Viterbi(
        *(_jieba_module(n).P for n in ("char_state_tab", "prob_start", "prob_trans", "prob_emit"))
    )
    rng = random.Random(7)
    runs = ["".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(rng.randint(2, 6))) for _ in range(400)]
    want = [list(viterbi(r, pseg.char_state_tab_P, pseg.start_P, pseg.trans_P, pseg.emit_P)[1]) for r in runs]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(tagger, runs))
    assert got == want
    assert len(tagger.table_rows()) >= 1024  # the table grew past its first sizes while in use


def test_the_hmm_compiles_without_a_cache_where_none_can_be_written(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Installed read-only with no cache directory, numba refuses `cache=True`: the tagger
    compiles without it (and says how to give it one) instead of failing."""
    import numba

    from rag import postag

    real = numba.njit

    def no_cache(*args: object, **kwargs: object) -> object:
        if kwargs.get("cache"):
            raise RuntimeError("cannot cache function '_route': no locator available for file")
        return real(*args, **kwargs)

    monkeypatch.setattr(numba, "njit", no_cache)
    postag._compiled_route.cache_clear()
    try:
        with caplog.at_level("WARNING", logger="rag.postag"):
            route = postag._compiled_route()
        assert "NUMBA_CACHE_DIR" in caplog.text
        assert [
            postag._model().states[i] for i in route(*postag._model().arrays("孟阿姨说"))
        ] == postag._model()("孟阿姨说")
    finally:
        postag._compiled_route.cache_clear()
