"""rag.bm25's segmentation is jieba's, word for word, whichever engine computed it."""

from __future__ import annotations

from pathlib import Path

import jieba
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rag import bm25
from rag.chunk import sentence_units
from rag.normalize import canonical_terms

SEEDS = Path(__file__).resolve().parents[2] / "seeds"

# Blocks where jieba-rs's own HMM or its joining of letters and digits differ from jieba's
# (found on news text), next to ordinary ones.
MIXED = [
    "常在此锻炼的孟阿姨说。",  # jieba-rs's HMM cuts 常在/此, jieba's 常/在/此
    "发行费用总额为9.123.790元，承销费用7,185.030元",
    "linux 6.4.10 稳定内核以及 linux 5.15.126 / 5.10.190 lts 内核",
    "或致电铁路客服热线020-12306咨询，预计涨0.09-0.10元",
    "重22.5g，厚9.99mm，v-nand闪存，i7-13700hx处理器，libxess.dll",
    "data.ai发布了2023年7月中国游戏厂商及应用出海收入30强榜单",
    "每隔3-7天清理8.53%，同比增长12.5%。",
    "T恤和A股，C++与c#，AT&T，卡拉OK，5g手机",
    "第一行\r\n第二行\t制表  两个空格",
    "㐀㐁是扩展A区的字，ｆｕｌｌ　ｗｉｄｔｈ，é和ß",
    "",
    "。，、",
]


def seed_sentences() -> list[str]:
    out = []
    for path in sorted(SEEDS.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        out.extend(text[a:b] for a, b in sentence_units(text, 200))
    return out


def test_seed_sentences_cut_as_jieba_cuts_them() -> None:
    sentences = seed_sentences()
    assert len(sentences) > 50
    for s in sentences:
        for text in (s, canonical_terms(s)):
            assert bm25.cut_for_search(text) == jieba.lcut_for_search(text), text
            assert bm25.cut(text) == jieba.lcut(text), text


@pytest.mark.parametrize("text", MIXED)
def test_awkward_blocks_cut_as_jieba_cuts_them(text: str) -> None:
    for t in (text, canonical_terms(text)):
        assert bm25.cut_for_search(t) == jieba.lcut_for_search(t)
        assert bm25.cut(t) == jieba.lcut(t)


# Characters that make jieba's blocks, its HMM runs and its dictionary words meet.
ALPHABET = "长沙市委书记胡衡华出席全会报告工作常在此孟阿姨说年月日第届次亿元万同比增长0123456789.%-+_#&abcgkTA恤股 \r\n，。、"


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=40))
def test_any_text_cuts_as_jieba_cuts_it(text: str) -> None:
    assert bm25.cut_for_search(text) == jieba.lcut_for_search(text)
    assert bm25.cut(text) == jieba.lcut(text)


def test_jieba_does_not_route_the_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """jieba-rs computes the dictionary route: jieba's own (`get_DAG`, the costly part) is
    never asked for it; jieba's HMM still cuts the runs the dictionary leaves single."""
    assert bm25.fast_route_available()  # rjieba is a dependency
    bm25.segmenter()
    routed: list[str] = []
    real = jieba.dt.get_DAG
    monkeypatch.setattr(jieba.dt, "get_DAG", lambda s: routed.append(s) or real(s))
    words = bm25.cut_for_search("2023年7月，长沙市委书记胡衡华出席全会，gdp增长5.2%，v-nand。")
    assert routed == []
    assert "胡衡华" in words  # a name jieba's dictionary does not hold: the HMM found it


def test_without_rjieba_the_tokens_are_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [*MIXED, *seed_sentences()[:40]]
    fast = [bm25.tokenize(t) for t in texts]
    monkeypatch.setattr(bm25, "_fast_route", None)
    assert bm25.fast_route_available() is False
    assert [bm25.tokenize(t) for t in texts] == fast
