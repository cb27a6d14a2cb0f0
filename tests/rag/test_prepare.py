"""Index-time preparation: each sentence embedded once, chunk vectors derived from them."""

from __future__ import annotations

import numpy as np
import pytest

from rag import Article, FakeEmbedder
from rag.chunk import chunk_text
from rag.prepare import RecentVectors, embed_plans, plan_chunks, prepare_articles
from tests.rag.embedder_helpers import RecordingEmbedder

ARTICLE = Article(
    id="x",
    title="长沙召开全会",
    text="".join(f"第{i}句讲长沙全会出席的人和事，内容不同{i * 7}。" for i in range(40)),
    published="2019-09-25",
    source="长沙晚报",
)


def test_each_sentence_is_embedded_once_and_chunks_are_their_mean():
    emb = RecordingEmbedder()
    (p,) = prepare_articles([ARTICLE], emb, target=120, overlap=40)
    plan = plan_chunks(ARTICLE, target=120, overlap=40)
    assert len(p.spans) > 3  # overlapping chunks ...
    assert len(emb.texts) == len(plan.sentence_spans) + 1  # ... but every sentence once, plus the title line
    assert len(set(emb.texts)) == len(emb.texts)
    assert [tuple(s) for s in p.spans] == chunk_text(ARTICLE.text, target=120, overlap=40)
    # a chunk's vector: the normalised mean of the title line's and its sentences' vectors
    header, *sentences = FakeEmbedder().encode_documents(list(plan.embed_texts))
    for (a, b), v in zip(p.spans, p.vectors, strict=True):
        members = [s for s, (x, y) in zip(sentences, plan.sentence_spans, strict=True) if a <= x and y <= b]
        assert members
        want = header + np.sum(members, axis=0)
        assert np.allclose(v, want / np.linalg.norm(want), atol=1e-5)
    assert p.sentence_vectors is not None and p.sentence_vectors.dtype == np.float16
    assert np.allclose(p.sentence_vectors.astype(np.float32), np.stack(sentences), atol=2e-3)


def test_sentences_tile_the_chunks():
    plan = plan_chunks(ARTICLE, target=120, overlap=40)
    starts = {s for s, _ in plan.sentence_spans}
    ends = {e for _, e in plan.sentence_spans}
    assert all(a in starts and b in ends for a, b in plan.spans)
    assert all(ARTICLE.text[s:e].strip() == ARTICLE.text[s:e] for s, e in plan.sentence_spans)


def test_each_sentence_is_tokenised_once_for_every_chunk_holding_it(monkeypatch):
    import rag.prepare
    import rag.sentence_words
    from rag.bm25 import tokenize
    from rag.sentence_words import analyse

    text = "".join(f"第{i}句话讲长沙市第{i}次会议的内容和出席的人员名单。" for i in range(40))
    a = Article(id="t", title="长沙开会", text=text)
    plan = plan_chunks(a, target=120, overlap=40)
    assert len(plan.spans) > 2  # overlapping chunks
    seen: list[str] = []
    segment = rag.sentence_words.tokenize_canonical

    def counting(t: str) -> tuple[list[str], list[str]]:
        seen.append(t)
        return segment(t)

    monkeypatch.setattr(rag.sentence_words, "tokenize_canonical", counting)
    words = rag.prepare.tokenize_plan(plan)
    # each sentence and the title once (the title line, with date and outlet, for BM25 only)
    assert len(seen) == len(plan.sentence_spans) + 1
    head = tokenize(plan.embed_texts[0])
    for (s, e), toks in zip(plan.spans, words.chunk_tokens, strict=True):
        inside = [tokenize(text[a:b]) for a, b in plan.sentence_spans if s <= a and b <= e]
        assert list(toks) == head + [t for ts in inside for t in ts]
    # and that one segmentation gives the words stored with each sentence and the title
    assert list(words.sentences) == [analyse(text[a:b]) for a, b in plan.sentence_spans]
    assert words.title == analyse("长沙开会")


def test_ahead_keeps_order_and_produces_one_step_ahead():
    import threading

    from rag.prepare import ahead

    made: list[int] = []
    second_made = threading.Event()

    def items():
        for i in range(5):
            made.append(i)
            if i == 1:
                second_made.set()
            yield i

    out = []
    for x in ahead(items()):
        if x == 0:  # while item 0 is handled, item 1 is produced without being asked for
            assert second_made.wait(10)
        out.append(x)
    assert out == [0, 1, 2, 3, 4]


def test_ahead_raises_the_producers_error_after_the_items_before_it():
    from rag.prepare import ahead

    def items():
        yield 1
        yield 2
        raise ValueError("bad article 3")

    got = []
    with pytest.raises(ValueError, match="bad article 3"):
        for x in ahead(items()):
            got.append(x)
    assert got == [1, 2]


def test_ahead_stops_producing_when_the_consumer_stops():
    import threading
    import time

    from rag.prepare import ahead

    made: list[int] = []

    def items():
        for i in range(1000):
            made.append(i)
            yield i

    gen = ahead(items())
    assert next(gen) == 0
    gen.close()  # e.g. a commit failed
    deadline = time.monotonic() + 10
    while any(t.name == "prepare-ahead" for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not any(t.name == "prepare-ahead" for t in threading.enumerate())
    assert len(made) <= 4  # the one handed over, one queued, one blocked: not the other 996


BOILERPLATE = "本文为数据整理，不对您构成任何投资建议，投资有风险，请谨慎决策。"


def _news(i: int) -> Article:
    return Article(
        id=f"n{i}", title=f"第{i}条消息", text=f"今天第{i}家公司公布了业绩，营收增长{i}成。{BOILERPLATE}"
    )


def test_a_repeated_text_is_embedded_once_with_the_same_vector():
    emb = RecordingEmbedder()
    arts = [_news(i) for i in range(3)]
    plans = [plan_chunks(a) for a in arts]
    vecs = embed_plans(plans, emb)
    assert emb.texts.count(BOILERPLATE) == 1  # three articles, one embedding
    assert len(emb.texts) == len(set(emb.texts))
    for p, v in zip(plans, vecs, strict=True):  # every article still gets a row per text, in order
        assert np.array_equal(v, FakeEmbedder().encode_documents(list(p.embed_texts)))


def test_recent_vectors_carry_over_between_batches_and_forget_the_least_recently_used():
    emb = RecordingEmbedder()
    recent = RecentVectors(capacity=4)
    first = prepare_articles([_news(0)], emb, recent=recent)
    n = len(emb.texts)
    second = prepare_articles([_news(1)], emb, recent=recent)
    assert BOILERPLATE not in emb.texts[n:]  # held from the first batch
    assert recent.reused_chars == len(BOILERPLATE)
    for a, b in ((first[0], second[0]),):
        assert a.sentence_vectors is not None and b.sentence_vectors is not None
        assert np.array_equal(a.sentence_vectors[-1], b.sentence_vectors[-1])
    assert np.array_equal(
        second[0].vectors, prepare_articles([_news(1)], FakeEmbedder())[0].vectors
    )  # the same chunks as without the memory
    assert len(recent) <= 4
    for i in range(2, 6):  # other texts push it out
        prepare_articles([_news(i)], emb, recent=recent)
        recent.remember([f"填充{i}{j}" for j in range(4)], np.zeros((4, emb.dim), np.float32))
    n = len(emb.texts)
    prepare_articles([_news(9)], emb, recent=recent)
    assert BOILERPLATE in emb.texts[n:]


def test_recent_vectors_keep_copies_not_views_of_the_batch():
    recent = RecentVectors()
    batch = np.ones((2, 3), np.float32)
    recent.remember(["a", "b"], batch)
    batch[:] = 0
    held, todo = recent.partition(["a", "c", "b", "c"])
    assert set(held) == {"a", "b"} and held["a"].base is None and held["a"].sum() == 3
    assert todo == ["c"]  # once, though asked for twice


def test_without_words_a_plan_gives_the_same_tokens_and_no_words() -> None:
    """`zhiwen index --no-words`: the BM25 tokens are the same, no words are made."""
    from rag.prepare import tokenize_plan

    a = Article(id="t", title="长沙开会", text="".join(f"第{i}句话讲长沙市第{i}次会议。" for i in range(30)))
    plan = plan_chunks(a, target=120, overlap=40)
    bare, full = tokenize_plan(plan, words=False), tokenize_plan(plan)
    assert bare.chunk_tokens == full.chunk_tokens
    assert bare.sentences == () and bare.title is None
    assert len(full.sentences) == len(plan.sentence_spans)
