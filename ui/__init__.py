"""The web chat (Gradio), mounted by the HTTP server at `/ui`.

`ui.render` builds every piece of HTML the page shows and `ui.handlers` does what the page's
events ask through the API's service layer (neither imports Gradio; both unit-tested);
`ui.app.mount_ui(app)` builds the Gradio Blocks and mounts them. Gradio is imported only
there, so importing `rag` or `server` never pays for it.
"""
