"""Follow-up questions resolved from the conversation, without a model (rag/conversation.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag import Index, ask, conversation, get_embedder, read_paths
from rag.answer import Policy
from rag.conversation import Rewrite
from rag.entities import entities
from rag.normalize import detect_script, to_simplified
from rag.records import Article, Citation, Turn

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
PLAIN_ID = "000_c96f0316381136be"  # the Simplified seed: the Changsha plenary session
INTERVIEW_ID = "003_f796007d3590bde0"  # the Traditional seed: an interview with its related items


RULES = Policy.load().follow_up  # the shipped follow-up rules (rag/answer/policy.json)


def rewrite(question: str, history: list[Turn], rules: conversation.FollowUpRules = RULES) -> Rewrite:
    return conversation.rewrite(question, history, rules)


@pytest.fixture(scope="module")
def articles() -> dict[str, Article]:
    return {a.id: a for a in read_paths([SEEDS]).articles}


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory, articles: dict[str, Article]) -> Iterator[Index]:
    idx = Index.open(tmp_path_factory.mktemp("conv") / "index", get_embedder("use"), create=True)
    idx.add(list(articles.values()))
    yield idx
    idx.close()


def cite(article: Article, quote: str, n: int = 1) -> Citation:
    """A citation of `quote` as it stands in the seed's stored text."""
    start = article.text.index(quote)
    return Citation(
        n=n,
        article_id=article.id,
        chunk_id=f"{article.id}#c0",
        title=article.title,
        source=article.source,
        published=article.published,
        quote=quote,
        start=start,
        end=start + len(quote),
        score=1.0,
    )


def user(text: str) -> Turn:
    return Turn(role="user", content=text)


def assistant(text: str, *citations: Citation) -> Turn:
    return Turn(role="assistant", content=text, citations=tuple(citations))


# ---------------------------------------------------------------- follow-ups resolved


def test_person_pronoun_takes_the_person_of_the_last_question(articles: dict[str, Article]) -> None:
    interview = articles[INTERVIEW_ID]
    history = [user("胡衡华是谁？"), assistant("……[1]", cite(interview, "長沙市委書記胡衡華回想起"))]
    r = rewrite("他后来调任什么职务？", history)
    assert "胡衡华" in r.query
    assert "他" not in r.query
    assert "调任" in r.query and "职务" in r.query  # the question itself is kept
    assert r.carried == ["胡衡华"]
    assert r.prefer_articles == [INTERVIEW_ID]


def test_person_pronoun_takes_the_person_the_last_answer_quoted(articles: dict[str, Article]) -> None:
    plain = articles[PLAIN_ID]
    quote = "省委常委、市委书记胡衡华受市委常委会委托向全会报告工作并发表讲话"
    history = [user("长沙市委书记是谁？"), assistant(quote + "[1]", cite(plain, quote))]
    r = rewrite("他后来调任什么职务？", history)
    assert "胡衡华" in r.query
    assert r.prefer_articles == [PLAIN_ID]


def test_meeting_is_carried_through_a_chain_of_follow_ups(articles: dict[str, Article]) -> None:
    plain = articles[PLAIN_ID]
    quote = "今天，中共长沙市第十三届委员会第八次全体会议召开。"
    history = [user("十三届八次全会是哪天召开的？"), assistant("9月24日。[1]", cite(plain, quote))]
    r = rewrite("市委委员实到多少人？", history)  # no subject at all: the meeting is put in front
    assert "十三届八次全会" in r.query and r.query.endswith("市委委员实到多少人？")
    assert r.prefer_articles == [PLAIN_ID]
    history += [user("市委委员实到多少人？"), assistant("实到53人。")]
    r = rewrite("这次全会有哪些人出席？", history)  # the demonstrative becomes the meeting
    assert r.query == "十三届八次全会有哪些人出席？"
    assert r.carried == ["十三届八次全会"]
    assert r.prefer_articles == []  # the last answer cited nothing


def test_plural_pronoun_takes_the_people_the_answer_listed(articles: dict[str, Article]) -> None:
    plain = articles[PLAIN_ID]
    quote = "市领导朱健、程水泉、文树勋、蔡亭英、钟钢、夏建平、黎春秋、谭小平、张宏益、曹友华等出席。"
    history = [user("这次全会有哪些市领导出席？"), assistant(quote + "[1]", cite(plain, quote))]
    r = rewrite("他们后来担任什么职务？", history)
    assert "朱健" in r.query and "他们" not in r.query
    assert len(r.carried) == RULES.max_people  # the policy's, of the ten listed
    two = rewrite("他们后来担任什么职务？", history, dataclasses.replace(RULES, max_people=2))
    assert len(two.carried) == 2


def test_demonstrative_about_the_article_carries_its_title(articles: dict[str, Article]) -> None:
    interview = articles[INTERVIEW_ID]
    history = [user("胡衡华是谁？"), assistant("……[1]", cite(interview, "長沙市委書記胡衡華回想起"))]
    r = rewrite("这篇报道的记者是谁？", history)
    assert "长沙高质量发展" in r.query  # from the cited article's title, in the question's script
    assert r.query.endswith("这篇报道的记者是谁？")


def test_elliptical_question_repeats_the_last_question() -> None:
    r = rewrite("这次呢？", [user("总书记7年前来长沙视察了哪些企业？"), assistant("……")])
    assert r.query.startswith("总书记7年前来长沙视察了哪些企业？")
    assert r.query.endswith("这次呢？")
    # up to the policy's length: "这次呢" is 3 characters
    short = rewrite(
        "这次呢？", [user("总书记7年前来长沙视察了哪些企业？")], dataclasses.replace(RULES, elliptic_chars=2)
    )
    assert not short.query.startswith("总书记")


def test_a_long_question_without_pronoun_stands_alone_by_the_policys_length(
    articles: dict[str, Article],
) -> None:
    plain = articles[PLAIN_ID]
    quote = "今天，中共长沙市第十三届委员会第八次全体会议召开。"
    history = [user("十三届八次全会是哪天召开的？"), assistant("9月24日。[1]", cite(plain, quote))]
    question = "市委委员实到多少人？"  # 9 characters, no subject: the meeting is carried
    assert rewrite(question, history).carried
    assert not rewrite(question, history, dataclasses.replace(RULES, standalone_chars=9)).carried
    assert RULES.standalone_chars > 9


def test_follow_ups_resolve_in_traditional_and_keep_the_script(articles: dict[str, Article]) -> None:
    interview = articles[INTERVIEW_ID]
    history = [user("胡衡華是誰？"), assistant("……[1]", cite(interview, "長沙市委書記胡衡華回想起"))]
    r = rewrite("他後來調任什麼職務？", history)
    assert "胡衡華" in r.query
    assert detect_script(r.query) == "zh-Hant"
    r = rewrite("這次全會有哪些人出席？", [user("十三屆八次全會是哪天召開的？")])
    assert r.query == "十三屆八次全會有哪些人出席？"
    # a Traditional conversation, a Simplified follow-up: the carried name is Simplified
    r = rewrite("他后来调任什么职务？", history)
    assert "胡衡华" in r.query


def test_english_pronouns(articles: dict[str, Article]) -> None:
    plain = articles[PLAIN_ID]
    quote = "省委常委、市委书记胡衡华受市委常委会委托向全会报告工作并发表讲话"
    history = [user("Who is the Party secretary of Changsha?"), assistant(quote + "[1]", cite(plain, quote))]
    r = rewrite("What position was he transferred to later?", history)
    assert "胡衡华" in r.query and " he " not in f" {r.query} "
    r = rewrite("Where did his career go after that?", history)
    assert "胡衡华's" in r.query
    r = rewrite("Who attended that plenum?", [user("十三届八次全会是哪天召开的？")])
    assert r.query == "Who attended 十三届八次全会?"
    r = rewrite("What did they decide?", [user("十三届八次全会是哪天召开的？")])
    assert "十三届八次全会" in r.query


# ---------------------------------------------------------------- questions left alone


@pytest.mark.parametrize(
    "question",
    [
        "上海市委书记是谁？",  # names its own organisation
        "胡忠雄在全会上做了什么？",  # names its own person
        "十三届十一次全会在哪天召开？",  # names its own meeting
        "長沙市委書記是誰？",  # Traditional, names its own place and office
        "制造业高质量发展有哪些具体工作要求？",  # no pronoun and long enough to stand alone
        "Who is the mayor of Changsha?",  # English, names its own subject
        "How many members of the municipal committee attended the plenary session in 2019?",
    ],
)
def test_questions_with_their_own_subject_are_not_rewritten(
    question: str, articles: dict[str, Article]
) -> None:
    interview = articles[INTERVIEW_ID]
    history = [
        user("胡衡华是谁？"),
        assistant("……[1]", cite(interview, "長沙市委書記胡衡華回想起")),
        user("十三届八次全会是哪天召开的？"),
        assistant("9月24日。"),
    ]
    r = rewrite(question, history)
    assert r.query == question
    assert r.carried == [] and r.prefer_articles == []


def test_nothing_to_carry_leaves_the_question_alone() -> None:
    assert rewrite("他后来调任什么职务？", []).query == "他后来调任什么职务？"
    # earlier turns that name nothing
    r = rewrite("他后来调任什么职务？", [user("你好"), assistant("请提问。")])
    assert r.query == "他后来调任什么职务？" and r.carried == []


# ---------------------------------------------------------------- through ask()


def _turn(answer_question: str, index: Index, history: list[Turn]) -> list[Turn]:
    a = ask(index, answer_question, history=history)
    return [*history, user(answer_question), assistant(a.answer, *a.citations)]


def test_ask_reports_and_uses_the_rewritten_question(index: Index) -> None:
    history = _turn("胡衡华是谁？", index, [])
    a = ask(index, "他后来调任什么职务？", history=history)
    assert a.rewritten_question is not None and "胡衡华" in a.rewritten_question
    assert a.question == "他后来调任什么职务？"
    assert a.answered
    # the answer comes from the related item about his transfer, quoted verbatim
    quoted = "".join(to_simplified(c.quote) for c in a.citations)
    assert "调任" in quoted
    for c in a.citations:
        assert index.get_article(c.article_id).text[c.start : c.end] == c.quote


def test_ask_carries_the_meeting_and_leaves_own_subjects_alone(index: Index) -> None:
    history = _turn("十三届八次全会是哪天召开的？", index, [])
    a = ask(index, "市委委员实到多少人？", history=history)
    assert a.rewritten_question is not None and "十三届八次全会" in a.rewritten_question
    history = _turn("市委委员实到多少人？", index, history)
    a = ask(index, "这次全会有哪些人出席？", history=history)
    assert a.rewritten_question == "十三届八次全会有哪些人出席？"
    assert a.answered and any("出席" in c.quote for c in a.citations)
    a = ask(index, "上海市委书记是谁？", history=history)
    assert a.rewritten_question is None


def test_a_follow_ups_own_words_pick_the_sentence(index: Index) -> None:
    """那列席的呢 after a question on who attended: its own word (列席) picks the sentence on
    those who sat in, though the carried words and the answer kind (a list of people) favour
    the list of those who attended."""
    history = _turn("十三届八次全会有哪些人出席？", index, [])
    a = ask(index, "那列席的呢？", history=history)
    assert a.rewritten_question is not None and "出席" in a.rewritten_question
    assert a.answered and a.citations
    assert "列席" in to_simplified(a.citations[0].quote)


def test_a_follow_up_about_someone_is_answered_only_from_a_passage_naming_them(tmp_path: Path) -> None:
    """他毕业于哪所大学 after a question on 张伟: a sentence on another person's university
    covers the rest of the question as well, but it is not about him; with no passage naming
    him on it the answer is "not found", and where one does, that one answers. (The real
    embedder: with the fake one's similarities the other sentence was refused anyway.)"""
    about_him = Article(
        id="a", title="", text="张伟出生于1993年，今年在研究所担任工程师。他的同事都很信任他。"
    )
    other = Article(id="b", title="", text="李华毕业于清华大学，随后进入研究所工作，成为工程师。")
    index = Index.open(tmp_path / "ix", get_embedder("use"), create=True)
    try:
        index.add([about_him, other])
        history = _turn("张伟出生于哪一年？", index, [])
        r = rewrite("他毕业于哪所大学？", history)
        assert "张伟" in r.query and r.about == ["张伟"]
        a = ask(index, "他毕业于哪所大学？", history=history)
        assert not a.answered, a.answer  # 李华's university is not his
        assert ask(index, "李华毕业于哪所大学？").answered  # the same passage answers its own person
        index.add([Article(id="c", title="", text="工程师张伟毕业于浙江大学，2015年进入研究所。")])
        a = ask(index, "他毕业于哪所大学？", history=history)
        assert a.answered and "浙江大学" in a.answer
    finally:
        index.close()


def test_an_elliptical_follow_ups_short_answer_is_what_it_asks(tmp_path: Path) -> None:
    """涉案金额呢 after 查获卷烟多少支: the same sentence answers both, and the short answer is
    the amount (5亿元), not again the number of cigarettes: the span is read against the
    follow-up's own words with the last question's question word (涉案金额多少支？)."""
    history = [
        user("警方查获外国品牌卷烟多少支？"),
        assistant("警方查获外国品牌卷烟140万支，涉案金额高达5亿元。"),
    ]
    r = rewrite("涉案金额呢？", history)
    assert r.asks == "涉案金额多少支？" and r.query.startswith("警方查获外国品牌卷烟多少支？")
    assert rewrite("那列席的呢？", [user("全会有哪些人出席？")]).asks == "那列席的哪些？"
    assert (
        rewrite("涉案金額呢？", [user("警方查獲外國品牌捲菸多少支？")]).asks == "涉案金額多少支？"
    )  # its script
    article = Article(
        id="a", title="", text="警方近期破获一起非法经营外烟案，查获外国品牌卷烟140万支，涉案金额高达5亿元。"
    )
    index = Index.open(tmp_path / "ix", get_embedder("use"), create=True)
    try:
        index.add([article])
        history = _turn("警方查获外国品牌卷烟多少支？", index, [])
        assert ask(index, "警方查获外国品牌卷烟多少支？").short_answer.text == "140万支"  # type: ignore[union-attr]
        a = ask(index, "涉案金额呢？", history=history)
        assert a.answered and a.short_answer is not None and a.short_answer.text == "5亿元"
    finally:
        index.close()


def test_a_transliterated_name_is_a_person_a_pronoun_can_stand_for() -> None:
    """jieba tags the foreign name it keeps (姆巴 of 姆巴佩) nrt, not nr, and its dictionary
    tags 上赛季 nr: 他 stood for 上赛季. Transliterated names are people too, in their order."""
    assert entities("姆巴佩上赛季打进多少球？").people[0] == "姆巴"
    r = rewrite("他在哪个俱乐部？", [user("姆巴佩上赛季打进多少球？")])
    assert r.query.startswith("姆巴") and r.about == ["姆巴"]
