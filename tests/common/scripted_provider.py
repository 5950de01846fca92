# SPDX-License-Identifier: GPL-3.0-or-later
"""A scripted model provider for the tests that run programs (the CLI, the
app through its accessibility tree): an OpenAI-compatible server (/v1/...,
with /audio routes) or the Anthropic Messages API, on 127.0.0.1. It
records every request, so a test can say that an answer came from it and
how often it was asked.

Its script: a chat answers SUMMARY (or SPOKEN_OUT to SPOKEN_IN); a request
that offers tools gets one write_file call for NOTES.md, streamed in
pieces, and then a short closing text."""

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import json
import struct
import threading
import time

SUMMARY = "The tide tables predict high water twice a day."
SPOKEN_IN = "What time is high water?"
SPOKEN_OUT = "High water is at noon."
# A message that asks "at length" gets LONG_TOKENS tokens of Markdown,
# paced at LONG_PACE seconds a token, ending with LONG_END.
LONG_ASK = "at length"
LONG_TOKENS = 2000
LONG_PACE = 0.005
LONG_END = "That is the whole tide table."


def long_reply_tokens():
    """LONG_TOKENS pieces of Markdown: paragraphs, lists and code blocks,
    as a long answer has them."""
    tokens = []
    section = 0
    while True:
        section += 1
        part = ["\n\n## ", "Part ", "%d" % section, "\n\n"]
        part += ["The ", "tide ", "rises ", "and ", "falls ", "twice ", "a ", "day, ", "as ", "the ", "moon ", "passes. "] * 6
        part += ["\n\n- ", "first ", "item ", "of ", "part ", "%d" % section, "\n- ", "second ", "item\n\n"]
        part += ["```c\n", "int ", "high_water ", "= ", "%d;" % section, "\n", "```\n\n"]
        if len(tokens) + len(part) > LONG_TOKENS - 6:
            break
        tokens += part
    tokens += ["again "] * (LONG_TOKENS - 6 - len(tokens))
    tokens += ["\n\n", "That ", "is ", "the ", "whole ", "tide table."]
    return tokens


def sse(handler, events, pace=0.0):
    handler.send_response(200)
    handler.send_header("Content-Type", "text/event-stream")
    handler.send_header("Cache-Control", "no-cache")
    # No length: the stream ends when the connection does.
    handler.send_header("Connection", "close")
    handler.close_connection = True
    handler.end_headers()
    for name, data in events:
        block = ""
        if name:
            block += "event: %s\n" % name
        block += "data: %s\n\n" % (data if isinstance(data, str) else json.dumps(data))
        handler.wfile.write(block.encode())
        handler.wfile.flush()
        if pace:
            time.sleep(pace)


def wav_bytes(seconds=1.0, rate=24000):
    samples = int(seconds * rate)
    data = b"\x00\x00" * samples
    header = b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt " + struct.pack(
        "<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16) + b"data" + struct.pack("<I", len(data))
    return header + data


def tool_wanted(body, tool_results):
    """The script of an agent run: write NOTES.md once, then finish."""
    return "tools" in body and not tool_results


class Provider(BaseHTTPRequestHandler):
    """OpenAI-compatible (/v1/...) or Anthropic (/v1/messages), by the
    server's 'shape'."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, content_type="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def record(self, body):
        self.server.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})

    def do_GET(self):
        self.record(None)
        if self.path == "/v1/models":
            self.reply(200, {"object": "list", "data": [{"id": self.server.model, "type": "model"}]})
        else:
            self.reply(404, {"error": {"message": "not found"}})

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        ctype = self.headers.get("Content-Type", "")
        body = json.loads(raw) if ctype.startswith("application/json") else {"raw": len(raw)}
        self.record(body)
        shape = self.server.shape
        if shape == "openai" and self.path == "/v1/chat/completions":
            self.openai_chat(body)
        elif shape == "openai" and self.path == "/v1/audio/transcriptions":
            self.reply(200, {"text": SPOKEN_IN})
        elif shape == "openai" and self.path == "/v1/audio/speech":
            self.reply(200, wav_bytes(), "audio/wav")
        elif shape == "anthropic" and self.path == "/v1/messages":
            self.anthropic_messages(body)
        else:
            self.reply(404, {"error": {"message": "no route %s" % self.path}})

    # ---- OpenAI-compatible ----

    def openai_chat(self, body):
        messages = body.get("messages", [])
        tool_results = [m for m in messages if m.get("role") == "tool"]
        text = SPOKEN_OUT if any(SPOKEN_IN in str(m.get("content")) for m in messages) else SUMMARY
        if tool_wanted(body, tool_results):
            args = json.dumps({"path": "NOTES.md", "content": "Notes from the provider.\n"})
            call = {"id": "call_1", "type": "function", "function": {"name": "write_file", "arguments": args}}
            if body.get("stream"):
                pieces = [args[i:i + 7] for i in range(0, len(args), 7)]
                events = [(None, {"choices": [{"index": 0, "delta": {"role": "assistant", "tool_calls": [
                    {"index": 0, "id": "call_1", "type": "function", "function": {"name": "write_file", "arguments": ""}}]}}]})]
                events += [(None, {"choices": [{"index": 0, "delta": {"tool_calls": [
                    {"index": 0, "function": {"arguments": p}}]}}]}) for p in pieces]
                events += [(None, {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}), (None, "[DONE]")]
                sse(self, events)
            else:
                self.reply(200, {"choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                    "role": "assistant", "content": None, "tool_calls": [call]}}]})
            return
        if tool_results:
            text = "Done: " + str(tool_results[-1].get("content"))[:60]
        if body.get("stream") and LONG_ASK in str(messages[-1].get("content") if messages else ""):
            events = [(None, {"model": self.server.model, "choices": [{"index": 0, "delta": {"content": t}}]})
                      for t in long_reply_tokens()]
            events += [(None, {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}), (None, "[DONE]")]
            sse(self, events, LONG_PACE)
            return
        if body.get("stream"):
            words = text.split(" ")
            events = [(None, {"model": self.server.model, "choices": [{"index": 0, "delta": {"content": w + (" " if i < len(words) - 1 else "")}}]})
                      for i, w in enumerate(words)]
            events += [(None, {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}), (None, "[DONE]")]
            sse(self, events)
        else:
            self.reply(200, {"model": self.server.model, "choices": [{"index": 0, "finish_reason": "stop",
                                                                      "message": {"role": "assistant", "content": text}}]})

    # ---- Anthropic ----

    def anthropic_messages(self, body):
        messages = body.get("messages", [])
        tool_results = [b for m in messages if isinstance(m.get("content"), list)
                        for b in m["content"] if b.get("type") == "tool_result"]
        start = ("message_start", {"type": "message_start", "message": {
            "id": "msg_1", "type": "message", "role": "assistant", "model": self.server.model, "content": [],
            "usage": {"input_tokens": 10, "output_tokens": 1}}})
        stop = [("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 5}}),
                ("message_stop", {"type": "message_stop"})]
        if tool_wanted(body, tool_results):
            args = json.dumps({"path": "NOTES.md", "content": "Notes from the provider.\n"})
            pieces = [args[i:i + 9] for i in range(0, len(args), 9)]
            events = [start, ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {
                "type": "tool_use", "id": "toolu_1", "name": "write_file", "input": {}}}), ("ping", {"type": "ping"})]
            events += [("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                "delta": {"type": "input_json_delta", "partial_json": p}}) for p in pieces]
            events += [("content_block_stop", {"type": "content_block_stop", "index": 0}),
                       ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 5}}),
                       ("message_stop", {"type": "message_stop"})]
            sse(self, events)
            return
        text = "Done." if tool_results else SUMMARY
        if any(SPOKEN_IN in json.dumps(m.get("content")) for m in messages):
            text = SPOKEN_OUT
        words = text.split(" ")
        events = [start, ("content_block_start", {"type": "content_block_start", "index": 0,
                                                  "content_block": {"type": "text", "text": ""}}), ("ping", {"type": "ping"})]
        events += [("content_block_delta", {"type": "content_block_delta", "index": 0,
                                            "delta": {"type": "text_delta", "text": w + (" " if i < len(words) - 1 else "")}})
                   for i, w in enumerate(words)]
        events += [("content_block_stop", {"type": "content_block_stop", "index": 0})] + stop
        sse(self, events)


def start_provider(shape, model):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Provider)
    server.shape = shape
    server.model = model
    server.requests = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, "http://127.0.0.1:%d" % server.server_address[1]


def completions(server, path):
    return [r for r in server.requests if r["path"] == path]
