"""Retrieval against brute-force oracles: BM25 recomputed from scratch in plain Python, and
exact cosine similarity in numpy, after adds, replacements and deletes."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rag import Article, FakeEmbedder, Filters, Index, search
from rag.bm25 import tokenize_query
from rag.errors import InputError
from rag.prepare import plan_chunks, tokenize_plan
from rag.retrieval_policy import POLICY_FILE, RetrievalPolicy, retrieval_policy
from rag.retrieve import (
    Candidate,
    _add_span,
    _near_duplicate,
    _shingles,
    candidates,
    fuse,
    query_term_ids,
)

QUERIES = [
    "十三届八次全会有哪些人出席",
    "長沙要堅守哪三條底線",
    "胡衡华 马云",
    "第3号 会议 出席",
    "不存在的词语",
]


def _corpus() -> list[Article]:
    topics = ["长沙市委召开全会", "湖南日报记者专访", "制造业高质量发展", "马云会见市委书记", "乡村振兴底线"]
    return [
        Article(
            id=f"n{i}",
            title=f"第{i}号 {topics[i % 5]}",
            text=f"{topics[(i * 3) % 5]}。出席会议的有张{i}、李{i % 7}。第{i}号文件要求{topics[(i + 1) % 5]}。"
            * (1 + i % 4),
            published=f"2023-0{1 + i % 9}-15",
            source=["甲报", "乙报", "丙台"][i % 3],
        )
        for i in range(40)
    ]


def _oracle_bm25(
    index: Index, query: str, k1: float | None = None, b: float | None = None
) -> dict[str, float]:
    k1 = retrieval_policy().bm25_k1 if k1 is None else k1
    b = retrieval_policy().bm25_b if b is None else b
    docs: dict[str, Counter[str]] = {}
    arts, _ = index.list_articles(limit=10_000)
    for a in arts:
        # a chunk's tokens: its title line's and its sentences' (rag.prepare); scored from scratch
        plan = plan_chunks(a, target=index.chunk_target, overlap=index.chunk_overlap)
        for n, tokens in enumerate(tokenize_plan(plan).chunk_tokens):
            docs[f"{a.id}#c{n}"] = Counter(tokens)
    n = len(docs)
    avgdl = sum(sum(c.values()) for c in docs.values()) / n
    scores = dict.fromkeys(docs, 0.0)
    for term in set(tokenize_query(query)):
        df = sum(1 for c in docs.values() if term in c)
        if df == 0:
            continue
        idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
        for cid, c in docs.items():
            tf = c.get(term, 0)
            if tf:
                dl = sum(c.values())
                scores[cid] += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))
    return scores


def _index_scores(index: Index, query: str) -> dict[str, float]:
    state = index.snapshot()
    s = state.bm25_scores(query_term_ids(state, query))
    metas = state.metas(state.article_rowids.tolist())
    out = {}
    for pos in np.flatnonzero(state.alive):
        meta = metas[int(state.article_rowids[pos])]
        out[f"{meta.id}#c{int(state.chunk_n[pos])}"] = float(s[pos])
    return out


@pytest.fixture
def corpus_index(tmp_path, seed_articles):
    index = Index.open(tmp_path / "ix", FakeEmbedder())
    index.add(_corpus())
    index.add(seed_articles)
    yield index
    index.close()


def _assert_bm25_matches_oracle(index: Index, k1: float | None = None, b: float | None = None) -> None:
    for q in QUERIES:
        oracle = _oracle_bm25(index, q, k1, b)
        got = _index_scores(index, q)
        assert set(got) == set(oracle)
        for cid, v in oracle.items():
            assert got[cid] == pytest.approx(v, rel=1e-4, abs=1e-5), (q, cid)


def test_bm25_leg_equals_brute_force(corpus_index):
    _assert_bm25_matches_oracle(corpus_index)


def test_bm25_takes_k1_and_b_from_the_retrieval_policy(monkeypatch, tmp_path):
    other = dataclasses.replace(retrieval_policy(), bm25_k1=2.0, bm25_b=0.3)
    monkeypatch.setattr("rag.index.lexical.retrieval_policy", lambda: other)
    index = Index.open(tmp_path / "ix", FakeEmbedder())
    index.add(_corpus())
    _assert_bm25_matches_oracle(index, k1=2.0, b=0.3)
    index.close()


def test_bm25_stays_exact_after_replace_and_delete(corpus_index):
    corpus_index.delete("n3")
    corpus_index.delete("003_f796007d3590bde0")
    corpus_index.add(
        [Article(id="n5", title="替换后的标题", text="全新的正文，与马云会见无关。出席者张三。")]
    )
    _assert_bm25_matches_oracle(corpus_index)  # all in the store, no persisted segment yet
    corpus_index.checkpoint()  # persisted segment ...
    _assert_bm25_matches_oracle(corpus_index)
    corpus_index.add([Article(id="n99", title="新增", text="乡村振兴底线。第3号 会议。")])
    corpus_index.delete("n7")  # ... plus late chunks and a tombstone
    corpus_index.add([Article(id="n8", title="又替换", text="替换了一篇已持久化的文章。")])
    _assert_bm25_matches_oracle(corpus_index)


def test_dense_leg_equals_exact_cosine(corpus_index):
    emb = corpus_index.embedder
    for q in QUERIES:
        qv = emb.encode_queries([q])[0]
        state = corpus_index.snapshot()
        _pos, sims = state.dense_search(qv, 10)
        alive = np.flatnonzero(state.alive)
        exact = state.vectors(alive) @ qv
        best = np.sort(exact)[::-1][:10]
        assert np.allclose(np.sort(sims)[::-1], best, atol=1e-5)


def test_fused_scores_expose_both_legs_and_rank_consistently(corpus_index):
    with corpus_index.reading() as state:
        cands = candidates(corpus_index, state, "长沙市委召开全会 出席")
    assert cands == sorted(cands, key=lambda c: -c.score)
    hits = search(corpus_index, "长沙市委召开全会 出席", top_k=5)
    assert hits and all({"dense", "bm25"} <= set(h.scores) for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    for h in hits:
        text = corpus_index.get_article(h.article_id).text
        assert text[h.start : h.end] == h.text


def test_filters_restrict_both_legs(corpus_index):
    f = Filters(since="2023-03-01", until="2023-04-30", sources=("甲报",))
    hits = search(corpus_index, "马云会见市委书记", top_k=20, filters=f)
    assert hits
    for h in hits:
        assert h.source == "甲报" and "2023-03-01" <= (h.published or "") <= "2023-04-30\uffff"


def test_overlapping_chunks_of_one_article_are_merged(tmp_path):
    text = "".join(f"第{i}句讲长沙全会出席的人。" for i in range(60))
    index = Index.open(tmp_path / "ix", FakeEmbedder(), chunk_target=80, chunk_overlap=40)
    index.add([Article(id="long", title="长文", text=text)])
    hits = search(index, "长沙全会出席的人", top_k=5)
    spans = sorted((h.start, h.end) for h in hits)
    for (_a0, a1), (b0, _b1) in itertools.pairwise(spans):
        assert b0 > a1, "overlapping passages of one article should have been merged"


def test_near_duplicate_reprints_do_not_fill_the_results(tmp_path):
    story = "长沙市第十三届委员会第八次全体会议今天召开，市领导朱健、程水泉等出席。会议审议通过了若干意见。"
    reprints = [Article(id=f"r{i}", title=f"转载{i}", text=story + f"（来源：媒体{i}）") for i in range(6)]
    other = Article(id="other", title="另一条", text="长沙全会之外的另一条新闻，讲制造业。")
    index = Index.open(tmp_path / "ix", FakeEmbedder())
    index.add([*reprints, other])
    hits = search(index, "十三届八次全会出席", top_k=3)
    assert sum(h.article_id.startswith("r") for h in hits) == 1
    assert any(h.article_id == "other" for h in hits)


def test_bad_queries_are_refused(corpus_index):
    with pytest.raises(InputError, match="empty"):
        search(corpus_index, "   ")
    with pytest.raises(InputError, match="top_k"):
        search(corpus_index, "长沙", top_k=0)
    for bad in (True, "5", 2.0):
        with pytest.raises(InputError, match="whole number"):
            search(corpus_index, "长沙", top_k=bad)
    # the library sets no upper limit: ZHIWEN_MAX_TOP_K is applied at the edges
    assert len(search(corpus_index, "长沙", top_k=500)) <= 500


def _coalesce_oracle(picked):
    """The merge as first written: rescan the whole list until no two spans of one article
    overlap or touch."""
    out = []
    for c, art, s, e in picked:
        for i, (pc, pa, ps, pe) in enumerate(out):
            if pa == art and s <= pe and e >= ps:
                out[i] = (pc, pa, min(ps, s), max(pe, e))
                break
        else:
            out.append((c, art, s, e))
    return _coalesce_oracle(out) if len(out) < len(picked) else out


_spans = st.lists(
    st.tuples(st.integers(0, 2), st.integers(0, 60), st.integers(1, 25)).map(
        lambda t: (t[0], t[1], t[1] + t[2])
    ),
    max_size=25,
)


@given(_spans)
def test_spans_are_merged_as_by_rescanning_everything(spans):
    got: list = []
    picked: list = []
    for n, (art, s, e) in enumerate(spans):
        item = (Candidate(n, 0.0, 0.0), art, s, e)
        _add_span(got, item)
        picked = _coalesce_oracle([*picked, item])
        assert [(c.pos, a, s0, e0) for c, a, s0, e0 in got] == [(c.pos, a, s0, e0) for c, a, s0, e0 in picked]


def test_a_span_bridging_two_others_merges_all_three_into_the_first():
    spans: list = []
    for n, (s, e) in enumerate([(0, 10), (20, 30), (50, 60), (9, 21)]):
        _add_span(spans, (Candidate(n, 0.0, 0.0), 7, s, e))
    assert [(c.pos, s, e) for c, _, s, e in spans] == [(0, 0, 30), (2, 50, 60)]


_shingle_sets = st.lists(
    st.frozensets(st.integers(0, 12), max_size=12).map(lambda f: {str(x) for x in f}), max_size=8
)


@given(st.frozensets(st.integers(0, 12), max_size=12), _shingle_sets)
def test_near_duplicate_agrees_with_comparing_every_pair(first, seen):
    sh = {str(x) for x in first}
    least = retrieval_policy().duplicate_jaccard
    expected = any(len(sh & o) / max(1, len(sh | o)) >= least for o in seen)
    assert _near_duplicate(sh, seen) is expected


def _string_shingles(text: str) -> set[str]:
    """The shingles as first written: every 4-character slice as a string."""
    from rag.normalize import to_simplified

    t = "".join(to_simplified(text).split())
    return {t[i : i + 4] for i in range(max(1, len(t) - 4 + 1))}


_SHINGLE_TEXT = st.text(alphabet="长沙晚報报道會议 \n\U00020000\U0002a6d6ab", max_size=14)


@given(_SHINGLE_TEXT, _SHINGLE_TEXT)
def test_shingle_keys_compare_as_the_strings_do(a, b):
    sa, sb = _shingles(a), _shingles(b)
    oa, ob = _string_shingles(a), _string_shingles(b)
    assert len(sa) == len(oa) and len(sb) == len(ob)
    assert len(sa & sb) == len(oa & ob)


def test_a_reprint_in_the_other_script_is_a_near_duplicate():
    a = _shingles("长沙市第十三届委员会第八次全体会议召开，市委书记出席并讲话。")
    b = _shingles("長沙市第十三屆委員會第八次全體會議召開，市委書記出席並講話。")
    assert _near_duplicate(b, [a])
    assert not _near_duplicate(_shingles("今年全市的水质持续改善，市民喝上了放心水。"), [a])


def test_a_character_beyond_16_bits_never_aliases_another():
    # as a 16-bit field, U+20000 would shift out of the key and leave that of U+0000
    assert not _shingles("\U00020000bcd") & _shingles("\x00bcd")
    assert _shingles("\U00020000bcd") == {"\U00020000bcd"}


def test_the_shipped_fusion_weight_is_what_its_recorded_fit_decided():
    """The weight in rag/retrieval_policy.json is the one `bench/retrieval.py --fit` decided: the
    best pooled MRR (then hit@1, then the lower weight) of the scan it recorded when the weights
    fitted on each set gained at least `min_gain` on the other, else the weight shipped before.
    A weight typed in by hand, or a scan edited after the fact, fails here."""
    raw = json.loads(POLICY_FILE.read_text(encoding="utf-8"))
    fitted = raw["fitted"]
    counts = fitted["questions"]
    grid = fitted["grid_hit1_hit5_mrr"]
    assert set(grid) == set(counts) and len(counts) >= 2
    weights = sorted({float(w) for g in grid.values() for w in g})
    assert len(weights) >= 3

    def pooled(w: float, col: int) -> float:
        total = sum(counts.values())
        return sum(grid[n][str(w)][col] * counts[n] for n in grid) / total

    best = max(weights, key=lambda w: (pooled(w, 2), pooled(w, 0), -w))
    # the command compares unrounded figures; the recorded ones are rounded to 4 places
    close = [w for w in weights if pooled(best, 2) - pooled(w, 2) <= 2e-4]
    assert fitted["best_on_both"] in close
    held = fitted["held_apart"]
    assert held and all(row["fitted_on"] != row["measured_on"] for row in held)
    for row in held:
        assert row["gain"] == pytest.approx(row["mrr"] - row["shipped_mrr"], abs=2e-4)
    assert fitted["moved"] == (min(row["gain"] for row in held) >= fitted["min_gain"])
    decided = fitted["best_on_both"] if fitted["moved"] else fitted["previous"]
    assert raw["bm25_weight"] == fitted["bm25_weight"] == decided
    assert raw["dense_weight"] == pytest.approx(1 - raw["bm25_weight"])
    assert raw["candidates"] == retrieval_policy().candidates and raw["written_by"].startswith(
        "bench/retrieval.py"
    )


def _cands() -> list[Candidate]:
    # BM25 prefers 0, then 1, then 2; the dense leg the reverse
    return [Candidate(0, 9.0, 0.1), Candidate(1, 5.0, 0.5), Candidate(2, 1.0, 0.9)]


@pytest.mark.parametrize(("bm25", "dense", "order"), [(1.0, 0.0, [0, 1, 2]), (0.0, 1.0, [2, 1, 0])])
def test_fusion_takes_its_weights_from_the_policy(monkeypatch, bm25, dense, order):
    policy = dataclasses.replace(retrieval_policy(), bm25_weight=bm25, dense_weight=dense)
    monkeypatch.setattr("rag.retrieve.retrieval_policy", lambda: policy)
    cs = _cands()
    fuse(cs)
    assert [c.pos for c in sorted(cs, key=lambda c: -c.score)] == order


def test_the_pool_size_comes_from_the_policy(monkeypatch, corpus_index):
    q = "长沙市委召开全会 出席"
    with corpus_index.reading() as state:
        wide = candidates(corpus_index, state, q)
        shipped = retrieval_policy()
        small = dataclasses.replace(shipped, candidates=2)
        monkeypatch.setattr("rag.retrieve.retrieval_policy", lambda: small)
        narrow = candidates(corpus_index, state, q)
    assert len(narrow) <= 4 < len(wide)


def test_a_policy_file_of_another_format_says_how_to_write_it_again(tmp_path):
    raw = json.loads(POLICY_FILE.read_text(encoding="utf-8"))
    raw["format_version"] = 99
    with pytest.raises(ValueError, match=r"bench/retrieval\.py --fit"):
        RetrievalPolicy.from_dict(raw)
    raw["format_version"] = 2
    raw["bm25_weight"] = raw["dense_weight"] = 0
    with pytest.raises(ValueError, match="weights"):
        RetrievalPolicy.from_dict(raw)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("{not json", "cannot read"),
        ("[1, 2]", "not a JSON object"),
        ('{"format_version": 2, "bm25_weight": 0.75}', "dense_weight, candidates"),
        (
            '{"format_version": 2, "bm25_weight": "heavy", "dense_weight": 0.25, "candidates": 100,'
            ' "duplicate_jaccard": 0.6, "bm25_k1": 1.2, "bm25_b": 0.75}',
            "not a number",
        ),
    ],
)
def test_a_broken_policy_file_says_how_to_write_it_again(tmp_path, text, says):
    path = tmp_path / "retrieval_policy.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=says) as e:
        retrieval_policy(path)
    assert "bench/retrieval.py --fit --write-policy" in str(e.value)


def test_a_traditional_question_is_compared_in_its_passages_script(index_of, monkeypatch) -> None:
    """The embedder places a text nearer one in its own script: a Traditional question is
    searched with its Simplified form; the answer stage compares a Traditional passage's
    sentences with the question as written, embedded only when such a passage is retrieved
    (a Traditional question over a Simplified archive pays one encoding, as a Simplified one);
    a Simplified question's with the question converted to Traditional."""
    from rag.answer import analyse, gather_evidence
    from rag.normalize import simplified_question, to_simplified, to_traditional
    from rag.retrieve import query_vector, retrieve, written_form

    traditional = "當時唐朝首都長安成了重要的佛教中心，許多僧侶來到這裡學習。"
    question = "唐朝首都長安成了什麼中心？"
    assert written_form(question) == question
    # a Simplified question is read in Traditional against a Traditional passage too
    assert written_form(to_simplified(question)) == to_traditional(to_simplified(question)) == question
    assert written_form("What was Chang'an?") == "" and written_form("2019年") == ""
    index = index_of(Article(id="t", title="長安", text=traditional))
    simplified_vec = query_vector(index, question)
    assert np.allclose(simplified_vec, index.embedder.encode_queries([simplified_question(question)])[0])
    written_vec = index.embedder.encode_queries([question])[0]
    with index.reading() as state:
        (cand,) = candidates(index, state, question)
        written, simplified = (
            float(state.dense_scores(v, np.array([cand.pos]))[0]) for v in (written_vec, simplified_vec)
        )
    assert written > simplified  # (the fake embedder's bigrams, like the model, follow the script)
    assert cand.dense == pytest.approx(simplified, abs=1e-5)  # the search: the Simplified form
    assert retrieve(index, question).query_vec.shape == (index.embedder.dim,)

    def dense_rows(article: Article, asked: str = question) -> tuple[set[int], int]:
        """Which form each sentence's cosine is that of (0 Simplified, 1 as written), and how
        many texts the answer stage embedded."""
        ix = index_of(article)
        encoded: list[str] = []
        encode = ix.embedder.encode_queries

        def counting(texts):
            encoded.extend(texts)
            return encode(texts)

        monkeypatch.setattr(ix.embedder, "encode_queries", counting)
        rows = set()
        for s in gather_evidence(ix, analyse(asked)).sentences:
            assert s.vec is not None
            got = [float(s.vec.astype(np.float32) @ v) for v in (simplified_vec, written_vec)]
            rows |= {i for i, g in enumerate(got) if g == pytest.approx(s.dense, abs=1e-4)}
        return rows, len(encoded)

    assert dense_rows(Article(id="t2", title="長安", text=traditional)) == ({1}, 2)
    assert dense_rows(Article(id="s2", title="长安", text=to_simplified(traditional))) == ({0}, 1)
    # a Simplified question over a Traditional passage: its sentences are compared with the
    # question converted to Traditional (here the same text as the Traditional question)
    assert dense_rows(Article(id="t3", title="長安", text=traditional), to_simplified(question)) == ({1}, 2)
