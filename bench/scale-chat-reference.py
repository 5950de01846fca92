#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The reference for the server rows of bench/run-scale (issue 14): a chat
server as the FastAPI tutorials write it, in PROTOCOL.md's plainer shape
("Compatibility": only data lines, {"type": "token", "content": …} then
{"type": "done"}), with Debian's python3-fastapi and python3-uvicorn.

It streams the same tokens as ai-console-server's demo engine (the same
canned text, split the same way: word-sized pieces keeping their leading
spaces) at the same pacing (--delay ms before each token, as the demo
engine's timer does).

    bench/scale-chat-reference.py PORT DELAY_MS
"""
import asyncio
import json
import re
import resource
import sys

from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse
import uvicorn

app = FastAPI()
DELAY = 0.03


def demo_reply_text(said: str) -> str:
    # As demo_reply_text() in src/backend/aic-engine.c.
    quoted = said[:200] + "…" if len(said) > 200 else said
    return ("**This is the demo engine**, not a language model: its answers are canned. "
            "Connect a real provider in Preferences to talk with a model.\n\n"
            f"You wrote: “{quoted}”\n\n"
            "Replies are shown as Markdown while they arrive, for example:\n\n"
            "- a list with *emphasis* and `inline code`\n"
            "- a [link](https://gnome.org)\n\n"
            "```c\n"
            "int\nmain (void)\n{\n  return 0;\n}\n"
            "```\n")


def split_pieces(text: str) -> list[str]:
    # As split_pieces() there: leading spaces and newlines, then a word.
    return [p for p in re.findall(r"[ \n]*[^ \n]*", text) if p]


@app.post("/api/chat/stream")
async def chat_stream(request: Request):
    body = await request.json()
    message = body.get("message") or body["messages"][-1]["content"]

    async def events():
        for piece in split_pieces(demo_reply_text(message)):
            await asyncio.sleep(DELAY)
            yield f"data: {json.dumps({'type': 'token', 'content': piece})}\n\n"
        yield f"data: {json.dumps({'type': 'done'})}\n\n"

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache"})


if __name__ == "__main__":
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    DELAY = int(sys.argv[2]) / 1000
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
