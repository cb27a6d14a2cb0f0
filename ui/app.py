"""The Gradio web chat, mounted into the API's FastAPI process at `/ui`: the page's layout
and wiring; what its events do is `ui.handlers` (the API's service layer, no Gradio types).
Offline by construction: Gradio analytics off, system fonts only, no external scripts.
"""

from __future__ import annotations

import logging
import os
from typing import Any

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported

import gradio as gr
from fastapi import FastAPI

from rag.ingest import SUPPORTED_TYPES
from server.guard import KEY_COOKIE
from ui.handlers import Handlers, outlets, settings_of
from ui.render import SCRIPT_CHOICES

logger = logging.getLogger(__name__)

UI_PATH = "/ui"
EXAMPLES = [
    "十三届八次全会有哪些人出席？",
    "胡衡華如何評價總書記在長沙的考察？",
    "Who attended the plenary session of the Changsha committee?",
]

SYSTEM_FONTS = [
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "PingFang SC",
    "Microsoft YaHei",
    "Source Han Sans SC",
    "system-ui",
    "sans-serif",
]
MONO_FONTS = ["Noto Sans Mono CJK SC", "DejaVu Sans Mono", "Menlo", "Consolas", "monospace"]

CSS = """
#zw-header h1 { margin: 0; font-size: 1.5rem; }
#zw-header .zw-sub { color: var(--body-text-color-subdued); font-size: .9rem; }
.zw-q { white-space: pre-wrap; }
.zw-answer .zw-text { font-size: 1.02rem; line-height: 1.7; }
.zw-answer .zw-short { font-size: 1.15rem; margin-bottom: 0.35rem; }
.zw-rewritten, .zw-note, .zw-meta { color: var(--body-text-color-subdued); font-size: .85rem; }
.zw-rewritten { margin-bottom: .4rem; }
a.zw-ref { text-decoration: none; font-weight: 600; color: var(--color-accent); padding: 0 1px; }
.zw-sources { margin-top: .8rem; display: flex; flex-direction: column; gap: .5rem; }
.zw-sources-head { font-weight: 600; font-size: .9rem; }
.zw-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: .5rem .7rem;
  background: var(--background-fill-secondary); scroll-margin-top: 1rem; }
.zw-card:target { outline: 2px solid var(--color-accent); }
.zw-card-head { display: flex; gap: .5rem; align-items: baseline; font-weight: 600; }
.zw-n { display: inline-block; min-width: 1.4em; text-align: center; border-radius: 4px;
  background: var(--color-accent); color: white; font-size: .8rem; padding: 0 .3em; }
blockquote.zw-passage { margin: .35rem 0 .2rem; padding: .2rem .6rem; border-left: 3px solid
  var(--border-color-accent); font-size: .92rem; line-height: 1.6; white-space: pre-wrap; }
mark.zw-hl { background: #ffe58a; color: #222; padding: 0 1px; border-radius: 2px; }
details.zw-article summary, details.zw-article-row summary { cursor: pointer; font-size: .88rem;
  color: var(--color-accent); }
details.zw-article-row summary { color: inherit; padding: .3rem 0; }
.zw-fulltext { white-space: pre-wrap; max-height: 22rem; overflow-y: auto; font-size: .92rem;
  line-height: 1.65; padding: .4rem .6rem; margin-top: .3rem; border-radius: 6px;
  background: var(--background-fill-primary); border: 1px solid var(--border-color-primary); }
.zw-notice.zw-pending, .zw-notice.zw-loading { color: var(--body-text-color-subdued); font-style: italic; }
.zw-notice.zw-error, .zw-bad { color: var(--error-text-color, #b91c1c); }
.zw-ok { color: #15803d; }
.zw-stats { display: flex; gap: 1.5rem; align-items: baseline; font-size: 1rem; }
.zw-stats b { font-size: 1.4rem; }
.zw-list-head { font-size: .9rem; margin-bottom: .3rem; }
details.zw-article-row { border-bottom: 1px solid var(--border-color-primary); }
.zw-job progress { width: 100%; }
#zw-examples button { font-size: .85rem; }
"""


# ---------------------------------------------------------------- the page


def build_blocks(app: FastAPI) -> gr.Blocks:
    settings = settings_of(app)
    h = Handlers(app)
    max_k = settings.max_top_k

    def on_load() -> tuple[str, str, Any, str]:
        stats, listing = h.refresh_kb()
        return stats, listing, gr.update(choices=outlets(h.index)), h.write_note()

    # uploads are copied into Gradio's cache; drop them after an hour (they are indexed by then)
    with gr.Blocks(title="知闻 zhiwen", analytics_enabled=False, delete_cache=(3600, 3600)) as demo:
        turns = gr.State([])
        gr.HTML(
            '<div id="zw-header"><h1>知闻 zhiwen</h1><div class="zw-sub">中文新闻问答：答案逐字摘自已收录的文章，'
            '每句都附编号来源。 · <a href="/docs">API 文档</a></div></div>'
        )
        with gr.Tabs():
            with gr.Tab("问答", id="chat", elem_id="zw-tab-chat"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=4):
                        chatbot = gr.Chatbot(
                            elem_id="zw-chat",
                            height=640,
                            render_markdown=False,
                            sanitize_html=True,
                            feedback_options=None,
                            group_consecutive_messages=False,
                            buttons=[],
                            show_label=False,
                            placeholder="用简体、繁體或 English 提问；答案下方是编号来源，点开可看全文。",
                        )
                        with gr.Row():
                            question = gr.Textbox(
                                show_label=False,
                                placeholder="输入问题，按 Enter 发送",
                                lines=1,
                                max_lines=1,
                                scale=8,
                                elem_id="zw-question",
                                autofocus=True,
                            )
                            send = gr.Button("发送", variant="primary", scale=1, elem_id="zw-send")
                        with gr.Row(elem_id="zw-examples"):
                            example_buttons = [gr.Button(q, size="sm", variant="secondary") for q in EXAMPLES]
                    with gr.Column(scale=1, min_width=240):
                        script = gr.Radio(
                            choices=SCRIPT_CHOICES,
                            value="auto",
                            label="答案文字 简/繁",
                            info="只改变答案文字；引文保持原文。",
                            elem_id="zw-script",
                        )
                        top_k = gr.Slider(1, max_k, value=5, step=1, label="检索来源数", elem_id="zw-topk")
                        since = gr.Textbox(label="起始日期", placeholder="YYYY-MM-DD", elem_id="zw-since")
                        until = gr.Textbox(label="截止日期", placeholder="YYYY-MM-DD", elem_id="zw-until")
                        outlet_box = gr.Dropdown(
                            choices=[],
                            multiselect=True,
                            allow_custom_value=True,
                            label="媒体来源",
                            info="不选 = 全部",
                            elem_id="zw-outlets",
                        )
                        clear = gr.Button("新对话", elem_id="zw-clear")
            with gr.Tab("知识库", id="kb", elem_id="zw-tab-kb") as kb_tab:
                stats = gr.HTML(elem_id="zw-stats")
                with gr.Row():
                    search_q = gr.Textbox(
                        show_label=False, placeholder="按标题或 ID 搜索文章", scale=6, elem_id="zw-search"
                    )
                    search_btn = gr.Button("搜索", scale=1, elem_id="zw-search-btn")
                listing = gr.HTML(elem_id="zw-list")
                with gr.Accordion("上传与删除（需要 API key）", open=True):
                    write_note = gr.HTML()
                    key = gr.Textbox(
                        label="API key",
                        type="password",
                        placeholder="服务器的 ZHIWEN_API_KEY；只保留在本页，不会存入浏览器",
                        elem_id="zw-key",
                    )
                    files = gr.File(
                        label=f"上传文章：{SUPPORTED_TYPES}（可多选）",
                        file_count="multiple",
                        type="filepath",
                        elem_id="zw-files",
                    )
                    upload_btn = gr.Button("导入", variant="primary", elem_id="zw-upload")
                    upload_status = gr.HTML(elem_id="zw-upload-status")
                    with gr.Row():
                        del_id = gr.Textbox(label="要删除的文章 ID", scale=6, elem_id="zw-del-id")
                        del_btn = gr.Button("删除", variant="stop", scale=1, elem_id="zw-del")
                    del_status = gr.HTML(elem_id="zw-del-status")

        ask_inputs = [question, turns, script, top_k, since, until, outlet_box]
        ask_outputs = [chatbot, turns, question]
        private: dict[str, Any] = {"api_visibility": "private"}
        question.submit(h.respond, ask_inputs, ask_outputs, concurrency_limit=4, **private)
        send.click(h.respond, ask_inputs, ask_outputs, concurrency_limit=4, **private)
        for b, q in zip(example_buttons, EXAMPLES, strict=True):
            b.click(lambda q=q: q, None, question, queue=False, **private).then(
                h.respond, ask_inputs, ask_outputs, concurrency_limit=4, **private
            )
        script.change(h.rerender, [turns, script], chatbot, queue=False, **private)
        clear.click(lambda: ([], [], ""), None, [chatbot, turns, question], queue=False, **private)
        chatbot.clear(lambda: [], None, turns, queue=False, **private)

        search_q.submit(h.refresh_kb, search_q, [stats, listing], **private)
        search_btn.click(h.refresh_kb, search_q, [stats, listing], **private)
        kb_tab.select(h.refresh_kb, search_q, [stats, listing], **private)
        # the upload route needs the key too (server.guard): the page sends it as a session cookie
        # scoped to that route, set as it is typed
        key.change(None, key, None, js=KEY_COOKIE_JS, queue=False, **private)
        upload_btn.click(h.upload, [files, key], upload_status, **private).then(
            h.refresh_kb, search_q, [stats, listing], **private
        )
        del_btn.click(h.delete, [del_id, key], del_status, **private).then(
            h.refresh_kb, search_q, [stats, listing], **private
        )
        demo.load(on_load, None, [stats, listing, outlet_box, write_note], **private)
    return demo


KEY_COOKIE_JS = (
    "(k) => { document.cookie = '"
    + KEY_COOKIE
    + "=' + encodeURIComponent(k || '') + '; path=' + window.location.pathname.replace(/\\/$/, '')"
    + " + '/gradio_api/upload; SameSite=Strict'; return []; }"
)


def theme() -> gr.themes.Base:
    return gr.themes.Default(primary_hue="blue", font=SYSTEM_FONTS, font_mono=MONO_FONTS)


def mount_ui(app: FastAPI) -> None:
    """Mount the web chat at `/ui` of `app` (which must carry `state.settings` and `state.jobs`)."""
    settings = settings_of(app)
    demo = build_blocks(app)
    gr.mount_gradio_app(
        app,
        demo,
        path=UI_PATH,
        footer_links=[],
        run_history=False,
        show_error=True,
        max_file_size=int(settings.max_upload_mb * (1 << 20)),
        ssr_mode=False,
        mcp_server=False,
        enable_monitoring=False,
        pwa=False,
        theme=theme(),
        css=CSS,
    )
