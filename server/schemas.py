"""Request and response shapes of the HTTP API (separate from the `rag` records).

Responses of `/v1/ask` and `/v1/search` are exactly `answer_to_dict` / `hits_to_dict`
(the same JSON as `zhiwen ask --json`); the models below document them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, StrictStr, model_validator

from rag.ingest import MAX_ID_CHARS
from rag.validate import iso_date


def _valid_text(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("contains invalid Unicode (a lone surrogate); send UTF-8 text") from exc
    return value


Text = Annotated[StrictStr, AfterValidator(_valid_text)]
IsoDate = Annotated[StrictStr | None, AfterValidator(iso_date)]


class FiltersIn(BaseModel):
    """Restrict retrieval to a date range (inclusive) and/or outlets."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"since": "2019-01-01", "until": "2019-12-31", "sources": ["华夏经纬网"]}]
        },
    )

    since: IsoDate = Field(None, description="earliest publication date, YYYY-MM-DD (inclusive)")
    until: IsoDate = Field(None, description="latest publication date, YYYY-MM-DD (inclusive)")
    sources: list[Annotated[Text, Field(max_length=200)]] = Field(
        default_factory=list, max_length=50, description="outlets to search, e.g. 华夏经纬网"
    )

    @model_validator(mode="after")
    def _ordered(self) -> FiltersIn:
        if self.since and self.until and self.since[:10] > self.until[:10]:
            raise ValueError(f"`since` ({self.since}) is after `until` ({self.until}); swap them")
        return self


class CitationIn(BaseModel):
    """A citation from an earlier answer, passed back with the conversation history."""

    model_config = ConfigDict(extra="ignore")

    n: int = Field(ge=0)
    article_id: Text = Field(max_length=MAX_ID_CHARS)
    chunk_id: Text = Field("", max_length=MAX_ID_CHARS + 100)
    title: Text = Field("", max_length=2000)
    source: Text | None = Field(None, max_length=500)
    published: Text | None = Field(None, max_length=100)
    quote: Text = Field("", max_length=20000)
    start: int = Field(0, ge=0)
    end: int = Field(0, ge=0)
    score: float = 0.0


class TurnIn(BaseModel):
    """One earlier message of the conversation."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"]
    content: Text = Field(max_length=20000)
    citations: list[CitationIn] = Field(default_factory=list, max_length=50)


ASK_EXAMPLES: dict[str, Any] = {
    "simple": {
        "summary": "简体提问",
        "value": {"question": "长沙市委第十三届八次全会审议通过了什么文件？", "top_k": 5},
    },
    "filtered": {
        "summary": "按日期和来源过滤",
        "value": {
            "question": "会议由谁主持？",
            "top_k": 5,
            "filters": {"since": "2019-01-01", "until": "2019-12-31", "sources": ["华夏经纬网"]},
        },
    },
    "traditional": {"summary": "繁體提問", "value": {"question": "受訪者談到了哪些話題？"}},
    "follow_up": {
        "summary": "多轮追问",
        "value": {
            "question": "还有谁出席了？",
            "history": [
                {"role": "user", "content": "长沙市委全会在哪一天召开？"},
                {"role": "assistant", "content": "会议于9月24日召开。[1]"},
            ],
        },
    },
}

SEARCH_EXAMPLES: dict[str, Any] = {
    "simple": {"summary": "检索段落", "value": {"query": "制造业高质量发展", "top_k": 5}},
    "filtered": {
        "summary": "只检索某个来源",
        "value": {"query": "全体会议", "top_k": 3, "filters": {"sources": ["华夏经纬网"]}},
    },
}


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: Text = Field(description="the question, in Simplified or Traditional Chinese or English")
    top_k: StrictInt = Field(
        5, ge=1, description="how many passages to consider (1..ZHIWEN_MAX_TOP_K, default 50)"
    )
    filters: FiltersIn | None = None
    history: list[TurnIn] = Field(
        default_factory=list, max_length=50, description="earlier turns, oldest first"
    )


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: Text = Field(description="search text")
    top_k: StrictInt = Field(
        10, ge=1, description="how many hits to return (1..ZHIWEN_MAX_TOP_K, default 50)"
    )
    filters: FiltersIn | None = None


# ---- responses (documentation of the library's JSON) ----


class CitationOut(BaseModel):
    n: int
    article_id: str
    chunk_id: str
    title: str
    source: str | None
    published: str | None
    quote: str = Field(description="verbatim: equals the article's stored text[start:end]")
    start: int
    end: int
    score: float


class HitOut(BaseModel):
    chunk_id: str
    article_id: str
    title: str
    text: str
    start: int
    end: int
    score: float
    scores: dict[str, float]
    source: str | None
    published: str | None


class ShortAnswerOut(BaseModel):
    text: str = Field(description="the span that answers, in the question's script")
    n: int = Field(description="the citation it is quoted from")
    start: int = Field(description="offset of the span in that article's stored text")
    end: int


class AnswerOut(BaseModel):
    # fields the library adds later are passed through, not dropped (the required ones are checked)
    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "question": "会议审议通过了什么？",
                    "answered": True,
                    "answer": "会议审议通过了《若干意见》。[1]",
                    "script": "zh-Hans",
                    "citations": [
                        {
                            "n": 1,
                            "article_id": "000_c96f0316381136be",
                            "chunk_id": "000_c96f0316381136be#c0",
                            "title": "奋力开创制造业高质量发展新局面",
                            "source": "华夏经纬网",
                            "published": "2019-09-25T12:55:03",
                            "quote": "审议通过《……若干意见》",
                            "start": 40,
                            "end": 52,
                            "score": 0.83,
                        }
                    ],
                    "suggestions": [],
                    "took_ms": 12.5,
                    "rewritten_question": None,
                    "mode": "extractive",
                    "message": None,
                    "short_answer": {"text": "《若干意见》", "n": 1, "start": 40, "end": 52},
                }
            ]
        },
    )

    question: str
    answered: bool
    answer: str
    script: str
    citations: list[CitationOut]
    suggestions: list[HitOut]
    took_ms: float
    rewritten_question: str | None
    mode: str
    message: str | None
    short_answer: ShortAnswerOut | None = Field(
        default=None, description="the span of the evidence that answers, or null when none fits"
    )


class SearchOut(BaseModel):
    query: str
    hits: list[HitOut]


class ErrorDetail(BaseModel):
    code: str = Field(examples=["invalid_input"])
    message: str = Field(examples=["问题为空：请在 `question` 中填写要问的内容 (the question is empty)"])
    details: list[dict[str, Any]] | None = None


class ErrorOut(BaseModel):
    error: ErrorDetail


# ---- articles ----


class ArticleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Text | None = Field(
        None, max_length=MAX_ID_CHARS, description="stable id; derived from the content if absent"
    )
    title: Text | None = Field(None, max_length=2000)
    text: Text = Field(description="the article body")
    published: IsoDate = Field(
        None, description="ISO date or datetime, e.g. 2023-05-01 or 2023-05-01T08:00:00"
    )
    source: Text | None = Field(None, max_length=500, description="outlet")
    url: Text | None = Field(None, max_length=2000)


class ArticlesIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "articles": [
                        {
                            "id": "demo-1",
                            "title": "市政府召开常务会议",
                            "text": "5月8日，市政府召开常务会议，研究部署城市更新工作。",
                            "published": "2023-05-08",
                            "source": "示例日报",
                        }
                    ]
                }
            ]
        },
    )

    articles: list[ArticleIn] = Field(min_length=1, max_length=10000)


class ArticleSummary(BaseModel):
    id: str
    title: str
    published: str | None
    source: str | None
    url: str | None
    parent_id: str | None
    chars: int


class ArticleOut(ArticleSummary):
    text: str = Field(description="the stored text that citation offsets refer to")


class ArticlePage(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[ArticleSummary]


class FileErrorOut(BaseModel):
    path: str
    line: int | None
    reason: str


class AddResult(BaseModel):
    added: int
    updated: int
    unchanged: int
    chunks: int
    errors: list[FileErrorOut]


class JobAccepted(BaseModel):
    job_id: str
    status: str
    url: str


class JobOut(BaseModel):
    id: str
    kind: str
    status: Literal["queued", "running", "succeeded", "failed"]
    phase: str
    done: int
    total: int
    created: float
    started: float | None
    finished: float | None
    result: AddResult | None
    errors: list[FileErrorOut]
    message: str | None


class Deleted(BaseModel):
    deleted: str


# ---- OpenAI-compatible chat ----


class ChatContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str = "text"
    text: Text | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Text = Field(max_length=50, examples=["user"])
    content: Text | list[ChatContentPart] | None = None

    def text(self) -> str:
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text or "" for p in self.content if p.type in ("text", "input_text"))


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: bool = False


CHAT_EXAMPLES: dict[str, Any] = {
    "simple": {
        "summary": "一问一答",
        "value": {"model": "zhiwen", "messages": [{"role": "user", "content": "全会审议通过了什么文件？"}]},
    },
    "conversation": {
        "summary": "带上下文的追问（流式）",
        "value": {
            "model": "zhiwen",
            "stream": True,
            "messages": [
                {"role": "system", "content": "你是新闻问答助手。"},
                {"role": "user", "content": "长沙市委全会什么时候召开？"},
                {"role": "assistant", "content": "9月24日。[1]"},
                {"role": "user", "content": "会上审议通过了什么？"},
            ],
        },
    },
}


class ChatRequest(BaseModel):
    """The OpenAI chat-completions request; sampling options are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    model: Text = Field("zhiwen", max_length=200)
    messages: list[ChatMessage] = Field(min_length=1, max_length=200)
    stream: bool = False
    stream_options: StreamOptions | None = None


class ModelOut(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelOut]


class ChatChoiceMessage(BaseModel):
    role: Literal["assistant"]
    content: str


class ChatChoice(BaseModel):
    index: int
    message: ChatChoiceMessage
    logprobs: None = None
    finish_reason: str


class ChatUsage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletionOut(BaseModel):
    """`chat.completion` (non-streaming), plus zhiwen's structured `citations`."""

    model_config = ConfigDict(extra="allow")

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    system_fingerprint: str | None = None
    choices: list[ChatChoice]
    usage: ChatUsage
    citations: list[CitationOut]
    rewritten_question: str | None = None
    mode: str
    message: str | None = None
