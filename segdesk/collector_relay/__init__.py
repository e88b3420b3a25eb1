"""The hosted collector relay: receives Segment-format events, buffers them durably
in SQLite and hands them to the desktop app through a token-protected pull API.

It stands alone on purpose: a small server installs it with starlette, uvicorn,
orjson and crawlerdetect only, so nothing here may import desktop code. The
package itself imports nothing, so `segdesk relay init` stays fast and the
deploy command can run where the server dependencies are not installed.
"""
