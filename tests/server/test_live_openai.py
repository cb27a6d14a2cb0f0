"""Start `zhiwen serve` on a loopback port and talk to it with the official `openai` package."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests.conftest import running_server
from tests.server.server_helpers import SEED_QUESTION, SEEDS, served_env


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    tmp = tmp_path_factory.mktemp("live")
    env = served_env(tmp / "index")
    env.pop("ZHIWEN_API_KEY", None)
    with running_server(tmp, env) as (base, _proc):
        yield base, tmp / "server.log"


@pytest.fixture
def sdk(live_server: tuple[str, Path]) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{live_server[0]}/v1", api_key="not-needed", max_retries=0, timeout=60)


def test_fresh_server_says_it_indexed_the_seeds(live_server: tuple[str, Path]) -> None:
    log = live_server[1].read_text()
    assert "indexing" in log and "first" in log and str(SEEDS) in log


def test_models_via_sdk(sdk: openai.OpenAI) -> None:
    assert [m.id for m in sdk.models.list()] == ["zhiwen"]


def test_chat_via_sdk(sdk: openai.OpenAI, live_server: tuple[str, Path]) -> None:
    resp = sdk.chat.completions.create(model="zhiwen", messages=[{"role": "user", "content": SEED_QUESTION}])
    assert resp.model == "zhiwen"
    content = resp.choices[0].message.content or ""
    assert "来源：" in content
    citations = (resp.model_extra or {})["citations"]
    assert citations
    for c in citations:
        text = httpx.get(f"{live_server[0]}/v1/articles/{c['article_id']}").json()["text"]
        assert text[c["start"] : c["end"]] == c["quote"]
        assert f"[{c['n']}] {c['title']}" in content


def test_streaming_chat_via_sdk(sdk: openai.OpenAI) -> None:
    stream = sdk.chat.completions.create(
        model="zhiwen",
        messages=[
            {"role": "user", "content": "长沙市委全会什么时候召开？"},
            {"role": "assistant", "content": "9月24日。"},
            {"role": "user", "content": SEED_QUESTION},
        ],
        stream=True,
    )
    pieces: list[str] = []
    finals = []
    for chunk in stream:
        if chunk.choices:
            pieces.append(chunk.choices[0].delta.content or "")
            if chunk.choices[0].finish_reason == "stop":
                finals.append(chunk)
    assert len(finals) == 1
    citations = (finals[0].model_extra or {})["citations"]
    assert citations
    text = "".join(pieces)
    assert "来源：" in text and text.split("来源：")[0].strip()


def test_bad_input_is_a_clear_4xx_via_sdk(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.APIStatusError) as info:
        sdk.chat.completions.create(model="zhiwen", messages=[{"role": "user", "content": "   "}])
    assert info.value.status_code == 422
    assert "empty" in str(info.value)
