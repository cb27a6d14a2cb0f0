"""Index-time preparation: each sentence embedded once, chunk vectors derived from them."""

from __future__ import annotations

import numpy as np
import pytest

from rag import Article, FakeEmbedder
from rag.chunk import chunk_text
from rag.prepare import plan_chunks, prepare_articles


class CountingEmbedder(FakeEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def encode(self, texts, *, kind="document"):  # type: ignore[no-untyped-def]
        self.texts.extend(texts)
        return super().encode(texts, kind=kind)


ARTICLE = Article(
    id="x",
    title="长沙召开全会",
    text="".join(f"第{i}句讲长沙全会出席的人和事，内容不同{i * 7}。" for i in range(40)),
    published="2019-09-25",
    source="长沙晚报",
)


def test_each_sentence_is_embedded_once_and_chunks_are_their_mean():
    emb = CountingEmbedder()
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
    from rag.bm25 import tokenize

    text = "".join(f"第{i}句话讲长沙市第{i}次会议的内容和出席的人员名单。" for i in range(40))
    a = Article(id="t", title="长沙开会", text=text)
    plan = plan_chunks(a, target=120, overlap=40)
    assert len(plan.spans) > 2  # overlapping chunks
    seen: list[str] = []

    def counting(t: str) -> list[str]:
        seen.append(t)
        return tokenize(t)

    monkeypatch.setattr(rag.prepare, "tokenize", counting)
    tokens = rag.prepare.tokenize_plan(plan)
    assert len(seen) == len(plan.sentence_spans) + 1  # each sentence and the title line, once
    head = tokenize(plan.embed_texts[0])
    for (s, e), toks in zip(plan.spans, tokens, strict=True):
        inside = [tokenize(text[a:b]) for a, b in plan.sentence_spans if s <= a and b <= e]
        assert list(toks) == head + [t for ts in inside for t in ts]


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
