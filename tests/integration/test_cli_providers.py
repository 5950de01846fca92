#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""ai-console-cli with --kind openai|anthropic: the built-in backend runs in
the CLI's process with a scripted provider as its engine, the same path as
the app's. The provider records every request, so each check can say that
the answer came from it, and how often it was asked."""

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import json
import os
import subprocess
import sys
import tempfile
import threading

CLI = sys.argv[1]
results = []

SUMMARY = "The tide tables predict high water twice a day."
SPOKEN_IN = "What time is high water?"
SPOKEN_OUT = "High water is at noon."


# GStreamer makes GLib replace its first quark block, which it never frees
# on purpose; LeakSanitizer would call that a leak.
GST = {"ASAN_OPTIONS": "detect_leaks=0:abort_on_error=1"}


def check(name, condition, detail=""):
    results.append((name, bool(condition), detail))


def sse(handler, events):
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


def wav_bytes(seconds=1.0, rate=24000):
    import struct
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


def cli(*args, home, env=None, stdin=""):
    full_env = dict(os.environ)
    full_env.pop("AI_CONSOLE_TOKEN", None)
    full_env.update({"XDG_DATA_HOME": os.path.join(home, "data"), "PROVIDER_KEY": "sk-test-key"})
    full_env.update(env or {})
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=60, env=full_env, input=stdin)


def completions(server, path):
    return [r for r in server.requests if r["path"] == path]


for shape, model in (("openai", "llama3.1"), ("anthropic", "claude-test")):
    with tempfile.TemporaryDirectory() as home:
        provider, base = start_provider(shape, model)
        url = base + "/v1" if shape == "openai" else base
        kind = ["--kind", shape, "--url", url, "--api-key-env", "PROVIDER_KEY"]
        chat_path = "/v1/chat/completions" if shape == "openai" else "/v1/messages"

        # analyze: the summary comes from the provider.
        doc = os.path.join(home, "tides.md")
        with open(doc, "w") as f:
            f.write("# Tides\n\nHigh water comes twice a day. The tables predict it.\n")
        result = cli("analyze", *kind, "--json", doc, home=home)
        lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
        summary = lines[0].get("result", {}).get("summary", "") if lines else ""
        check("%s: analyze --kind %s summarises through the provider" % (shape, shape),
              result.returncode == 0 and SUMMARY in summary and completions(provider, chat_path),
              result.stdout + result.stderr)
        asked = completions(provider, chat_path)
        if shape == "anthropic":
            headers = asked[0]["headers"] if asked else {}
            check("anthropic: the provider gets x-api-key and anthropic-version",
                  headers.get("x-api-key") == "sk-test-key" and headers.get("anthropic-version"), headers)
        else:
            headers = asked[0]["headers"] if asked else {}
            check("openai: the provider gets the key as a bearer token",
                  headers.get("Authorization") == "Bearer sk-test-key", headers)
        check("%s: the provider's listed model is used" % shape,
              asked and all(r["body"].get("model") == model for r in asked), [r["body"].get("model") for r in asked])

        result = cli("analyze", *kind, "--model", "picked-model", "--json", doc, home=home)
        check("%s: analyze --model names the model the provider is asked for" % shape,
              result.returncode == 0 and completions(provider, chat_path)[-1]["body"].get("model") == "picked-model",
              result.stderr)

        # agent: writes only when approved.
        workspace = os.path.join(home, "work")
        os.makedirs(workspace)
        with open(os.path.join(workspace, "README.md"), "w") as f:
            f.write("# Tide tables\n")
        notes = os.path.join(workspace, "NOTES.md")
        provider.requests.clear()
        result = cli("agent", *kind, "--workspace", workspace, "--approve", "no", "Take notes", home=home)
        check("%s: agent --approve no writes nothing" % shape,
              result.returncode == 0 and not os.path.exists(notes) and completions(provider, chat_path),
              result.stdout + result.stderr)
        check("%s: the agent's request offers the tools" % shape,
              any("tools" in r["body"] for r in completions(provider, chat_path)))
        result = cli("agent", *kind, "--workspace", workspace, "--approve", "yes", "Take notes", home=home)
        written = open(notes).read() if os.path.exists(notes) else ""
        check("%s: agent --approve yes writes the provider's file" % shape,
              result.returncode == 0 and written == "Notes from the provider.\n", result.stdout + result.stderr)

        # voice: a spoken turn from a WAV, heard and answered by the
        # provider (Anthropic has no speech: a speech server does it).
        speech = os.path.join(home, "question.wav")
        reply = os.path.join(home, "reply.wav")
        subprocess.run(["espeak-ng", "-w", speech, "What time is high water?"], check=True)
        voice_args = ["voice", *kind, "--fast", "--push-to-talk", "--input", speech, "--output", reply]
        speech_server = None
        if shape == "anthropic":
            result = cli(*voice_args, home=home, env=GST)
            check("anthropic alone: voice says plainly that speech cannot become text",
                  "cannot turn speech into text" in result.stderr, result.stdout + result.stderr)
            speech_server, speech_base = start_provider("openai", "whisper")
            voice_args += ["--speech-url", speech_base + "/v1"]
        provider.requests.clear()
        result = cli(*voice_args, home=home, env=GST)
        heard_by = speech_server or provider
        check("%s: voice is transcribed by the %s" % (shape, "speech server" if speech_server else "provider"),
              "you: " + SPOKEN_IN in result.stdout and completions(heard_by, "/v1/audio/transcriptions"),
              result.stdout + result.stderr)
        check("%s: the provider answers the spoken turn" % shape,
              "assistant: " + SPOKEN_OUT in result.stdout and completions(provider, chat_path), result.stdout)
        check("%s: the answer is spoken back into the output WAV" % shape,
              result.returncode == 0 and completions(heard_by, "/v1/audio/speech")
              and os.path.exists(reply) and os.path.getsize(reply) > 44 + 24000, result.stderr)
        if speech_server:
            speech_server.shutdown()

        provider.shutdown()

# Options are checked before anything starts.
with tempfile.TemporaryDirectory() as home:
    doc = os.path.join(home, "a.txt")
    with open(doc, "w") as f:
        f.write("Some text.")
    check("analyze --kind with a bad kind name exits 2",
          cli("analyze", "--kind", "ollama", "--url", "http://127.0.0.1:9/v1", doc, home=home).returncode == 2)
    result = cli("agent", "--kind", "openai", "--url", "http://127.0.0.1:9/v1", "--api-key-env", "NO_SUCH_VAR", "x", home=home)
    check("a missing --api-key-env variable is said plainly", result.returncode == 2 and "NO_SUCH_VAR" in result.stderr,
          result.stderr)

print("TAP version 13")
print("1..%d" % len(results))
for number, (name, ok, detail) in enumerate(results, 1):
    print("%s %d - %s" % ("ok" if ok else "not ok", number, name))
    if not ok and detail:
        for line in str(detail).splitlines()[-30:]:
            print("# " + line)
sys.exit(0 if all(ok for _, ok, _ in results) else 1)
