#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""ai-console-server and ai-console-cli as separate processes: the server
binary with its real flags, the CLI talking to it over loopback. TAP out."""

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import json
import os
import queue
import re
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

SERVER, CLI = sys.argv[1], sys.argv[2]
results = []


def check(name, condition, detail=""):
    results.append((name, bool(condition), detail))


# The server warns on purpose (--no-auth, non-loopback binds): those
# warnings must not be fatal here, as the test environment makes them.
SERVER_ENV = {k: v for k, v in os.environ.items() if k != "G_DEBUG"}


def run_server(*args):
    return subprocess.run([SERVER, *args], capture_output=True, text=True, timeout=10, env=SERVER_ENV)


def start_server(*args):
    proc = subprocess.Popen([SERVER, "--port", "0", *args], env=SERVER_ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    match = re.match(r"Listening on (http://\S+)", line)
    if not match:
        proc.kill()
        raise RuntimeError("server did not start: %r %r" % (line, proc.stderr.read()))
    return proc, match.group(1)


def stop(proc):
    proc.terminate()
    _, err = proc.communicate(timeout=10)
    return err


def cli_env(env=None):
    full_env = dict(os.environ)
    full_env.pop("AI_CONSOLE_TOKEN", None)
    full_env.update(env or {})
    return full_env


def cli(*args, env=None):
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=30, env=cli_env(env))


class Lines:
    """A process's stderr, read line by line in the background."""

    def __init__(self, stream):
        self.lines = queue.Queue()
        self.seen = []
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream):
        for line in stream:
            self.lines.put(line)

    def wait_for(self, pattern, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.05, deadline - time.monotonic()))
            except queue.Empty:
                break
            self.seen.append(line)
            if re.search(pattern, line):
                return line
        return None


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http(url, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


with tempfile.TemporaryDirectory() as data:
    server, url = start_server("--data-dir", data)
    token_file = os.path.join(data, "token")
    check("server binds loopback by default", url.startswith("http://127.0.0.1:"), url)
    mode = stat.S_IMODE(os.stat(token_file).st_mode)
    check("token file is created with mode 0600", mode == 0o600, oct(mode))
    token = open(token_file).read().strip()
    check("token is 43 url-safe characters", re.fullmatch(r"[A-Za-z0-9_-]{43}", token), token)

    result = cli("health", "--url", url, "--token", token)
    check("cli health exits 0", result.returncode == 0, result.stderr)
    try:
        health = json.loads(result.stdout)
    except ValueError:
        health = {}
    check("cli health prints the health JSON", health.get("status") == "ok"
          and health.get("engine", {}).get("kind") == "demo"
          and health.get("models") == ["demo"]
          and "max_upload_bytes" in health.get("limits", {}), result.stdout)

    result = cli("health", "--url", url, env={"AI_CONSOLE_TOKEN": token})
    check("cli health takes the token from AI_CONSOLE_TOKEN", result.returncode == 0, result.stderr)

    # --token-file and AI_CONSOLE_TOKEN keep the token out of the process
    # list; --token is still taken, and --help says what it shows.
    result = cli("health", "--url", url, "--token-file", token_file)
    check("cli health takes the token from --token-file", result.returncode == 0, result.stderr)
    result = cli("health", "--url", url, "--token", token, "--token-file", token_file)
    check("cli refuses --token with --token-file", result.returncode == 2 and "not both" in result.stderr, result.stderr)
    empty = os.path.join(data, "empty-token")
    open(empty, "w").close()
    result = cli("health", "--url", url, "--token-file", empty)
    check("cli refuses an empty token file in words", result.returncode == 2 and "is empty" in result.stderr, result.stderr)
    result = cli("health", "--url", url, "--token-file", os.path.join(data, "missing"))
    check("cli says a token file is missing", result.returncode == 2 and "missing" in result.stderr, result.stderr)
    for command in ("health", "chat", "analyze", "voice", "agent"):
        result = cli(command, "--help")
        check("cli %s --help offers --token-file and says --token is visible" % command,
              "--token-file" in result.stdout and "other users can see it" in result.stdout, result.stdout)
    # While it runs, the CLI's command line has the file's name, not the token.
    proc = subprocess.Popen([CLI, "chat", "--url", url, "--token-file", token_file, "-q", "Tell me about foxes"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env())
    seen = b""
    for _ in range(200):
        with open("/proc/%d/cmdline" % proc.pid, "rb") as cmdline:
            seen = cmdline.read()
        if seen:
            break
        time.sleep(0.01)
    out, err = proc.communicate(timeout=30)
    check("cli chat with --token-file works", proc.returncode == 0 and "foxes" in out, err)
    check("cli chat with --token-file keeps the token off its command line",
          token_file.encode() in seen and token.encode() not in seen, seen)

    result = cli("health", "--url", url)
    check("cli health without token exits 1", result.returncode == 1, str(result.returncode))
    check("cli says a token is needed, on stderr",
          "needs a key or token" in result.stderr and result.stdout == "", result.stderr)
    result = cli("health", "--url", url, "--token", "wrong")
    check("cli says a wrong token was refused", result.returncode == 1
          and "refused the key or token" in result.stderr, result.stderr)

    status, body = http(url + "/api/health")
    check("server answers 401 without a token", status == 401 and body["error"]["code"] == "unauthorized")
    status, body = http(url + "/api/health", {"Authorization": "Bearer " + token, "Origin": "https://evil.example"})
    check("server refuses a foreign Origin with 403", status == 403 and body["error"]["code"] == "origin_not_allowed")
    status, body = http(url + "/api/health", {"Authorization": "Bearer " + token, "Host": "evil.example"})
    check("server refuses a foreign Host with 403", status == 403 and body["error"]["code"] == "host_not_allowed")
    status, body = http(url + "/no/such/route", {"Authorization": "Bearer " + token})
    check("server answers unknown routes with the JSON error shape", status == 404
          and body["error"]["code"] == "not_found" and body["error"]["message"])

    err = stop(server)
    check("server logs where the token is", token_file in err, err)
    check("server never logs the token", token not in err)

    # A second start reuses the token file.
    server, url = start_server("--data-dir", data)
    result = cli("health", "--url", url, "--token", token)
    check("restart keeps the token", result.returncode == 0, result.stderr)
    stop(server)

    os.chmod(token_file, 0o644)
    proc = run_server("--port", "0", "--data-dir", data)
    check("server refuses a token file others can read", proc.returncode == 1 and "chmod 600" in proc.stderr, proc.stderr)
    os.chmod(token_file, 0o600)

    server, url = start_server("--no-auth", "--data-dir", data)
    result = cli("health", "--url", url)
    err = stop(server)
    check("--no-auth serves without a token", result.returncode == 0, result.stderr)
    check("--no-auth says so loudly", "AUTHENTICATION IS OFF" in err, err)

    proc = run_server("--no-auth", "--host", "0.0.0.0", "--port", "0")
    check("--no-auth is refused off loopback", proc.returncode == 2, proc.stderr)
    proc = run_server("--engine", "magic")
    check("unknown engine is a usage error", proc.returncode == 2 and "demo" in proc.stderr, proc.stderr)
    proc = run_server("--engine", "openai")
    check("openai engine without --upstream is a usage error", proc.returncode == 2 and "--upstream" in proc.stderr, proc.stderr)
    proc = run_server("--help")
    check("server --help lists its flags", proc.returncode == 0 and all(
        flag in proc.stdout for flag in ("--host", "--port", "--token-file", "--no-auth", "--engine", "--upstream", "--data-dir")), proc.stdout)

    # The openai engine against an upstream that is not there: health still answers.
    server, url = start_server("--no-auth", "--engine", "openai", "--upstream", "http://127.0.0.1:9/v1", "--data-dir", data)
    result = cli("health", "--url", url)
    stop(server)
    health = json.loads(result.stdout or "{}")
    check("openai engine reports its upstream", health.get("engine") == {"kind": "openai", "upstream": "http://127.0.0.1:9/v1"}, result.stdout)

# sse and chat
with tempfile.TemporaryDirectory() as data:
    server, url = start_server("--data-dir", data, "--demo-delay", "2")
    token = open(os.path.join(data, "token")).read().strip()

    result = cli("chat", "--url", url, "--token", token, "Tell me about foxes")
    check("chat exits 0 on a complete reply", result.returncode == 0, result.stderr)
    check("chat prints the reply, and only it, on stdout",
          result.stdout.startswith("**This is the demo engine**") and "You wrote: “Tell me about foxes”" in result.stdout
          and "tokens" not in result.stdout.splitlines()[-1], result.stdout)
    check("chat prints statistics on stderr", "tokens/s" in result.stderr and "demo" in result.stderr, result.stderr)

    result = subprocess.run([CLI, "chat", "--url", url, "--token", token, "-q", "-"], input="from stdin",
                            capture_output=True, text=True, timeout=30)
    check("chat reads the prompt from stdin with -", result.returncode == 0 and "“from stdin”" in result.stdout
          and result.stderr == "", result.stderr)

    result = cli("chat", "--url", url, "--token", "wrong", "hi")
    check("chat with a wrong token fails on stderr only", result.returncode == 1 and result.stdout == ""
          and "refused the key or token" in result.stderr, result.stderr)
    result = cli("chat", "--url", url, "--kind", "gemini", "hi")
    check("chat with an unknown kind is a usage error", result.returncode == 2, result.stderr)
    result = cli("chat", "--url", url, "--kind", "openai", "--token", token, "hi")
    check("chat on openai without a model says to choose one", result.returncode == 1
          and "Choose a model" in result.stderr, result.stderr)

    result = cli("sse", "-H", "Authorization: Bearer " + token, "--data", '{"message": "hi"}', url + "/api/chat/stream")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    check("sse POSTs and prints one JSON line per event", result.returncode == 0 and len(lines) > 5
          and lines[0]["event"] == "start" and lines[0]["id"] == "1"
          and lines[-1]["event"] == "done" and json.loads(lines[-1]["data"])["type"] == "done", result.stdout[-300:])

    stream_id = json.loads(lines[0]["data"])["stream_id"]
    result = cli("sse", "-H", "Authorization: Bearer " + token, "-H", "Last-Event-ID: %d" % (len(lines) - 2),
                 url + "/api/chat/streams/" + stream_id)
    resumed = [json.loads(line) for line in result.stdout.splitlines()]
    check("a finished stream can be replayed after Last-Event-ID", [e["id"] for e in resumed] ==
          [str(len(lines) - 1), str(len(lines))], result.stdout)

    result = cli("sse", url + "/api/chat/streams/nope")
    check("sse reports an HTTP error in words", result.returncode == 1 and "needs a key or token" in result.stderr, result.stderr)

    # Ctrl+C stops the reply: exit 130, and the backend is told to stop.
    stop(server)
    server, url = start_server("--data-dir", data, "--demo-delay", "100")
    proc = subprocess.Popen([CLI, "chat", "--url", url, "--token", token, "hello"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = proc.stdout.read(5)
    proc.send_signal(signal.SIGINT)
    rest, err = proc.communicate(timeout=20)
    check("Ctrl+C stops chat with exit 130 and the text so far", proc.returncode == 130
          and first.startswith("**") and "Stopped" in err and "return 0" not in rest, "%s %r %r" % (proc.returncode, rest, err))
    stop(server)


# ---- analyze: document jobs through the CLI ----

DOCUMENT = """# Wind and water

Small hydro plants turn river flow into steady electricity for villages. Wind turbines add power in winter when
rivers freeze and hydro output drops. Together the two sources cover most of the yearly demand in mountain valleys.

Maintenance is the main cost: turbines need yearly checks and hydro intakes need cleaning. Villages that share
technicians cut these costs by a third.
"""

with tempfile.TemporaryDirectory() as data, tempfile.TemporaryDirectory() as home:
    xdg = {"XDG_DATA_HOME": home}
    doc = os.path.join(home, "wind.md")
    notes = os.path.join(home, "notes.txt")
    picture = os.path.join(home, "picture.png")
    with open(doc, "w") as f:
        f.write(DOCUMENT)
    with open(notes, "w") as f:
        f.write("Notes from the meeting about hydro intakes and their cleaning schedule in spring.\n")
    with open(picture, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + bytes(64))

    server, url = start_server("--data-dir", data, "--no-auth", "--demo-delay", "2")
    result = cli("analyze", "--url", url, "--json", doc, notes, env=xdg)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    check("analyze --json prints one result per file and exits 0", result.returncode == 0 and len(lines) == 2
          and all(line["status"] == "done" for line in lines), result.stdout + result.stderr)
    titles = {line["file"]: line["result"]["title"] for line in lines}
    check("analyze finds each document's title", titles.get("wind.md") == "Wind and water", titles)
    check("analyze shows progress per file on stderr", re.search(r"wind\.md: +\d+% Summarizing part 1 of 1", result.stderr)
          and "wind.md: done" in result.stderr, result.stderr)

    result = cli("analyze", "--url", url, doc, env=xdg)
    check("analyze prints the summary as Markdown", result.returncode == 0 and result.stdout.startswith("# Wind and water")
          and "## Key points" in result.stdout, result.stdout)

    result = cli("analyze", "--url", url, picture, doc, env=xdg)
    check("analyze exits 1 when a document is refused, in words, and still does the rest",
          result.returncode == 1 and "picture.png: failed" in result.stderr and "cannot read" in result.stderr
          and "# Wind and water" in result.stdout, result.stderr)
    result = cli("analyze", "--url", url, os.path.join(home, "missing.txt"), env=xdg)
    check("analyze of a missing file is a usage error", result.returncode == 2 and "is not a file" in result.stderr, result.stderr)
    stop(server)

    # The server is killed (SIGKILL) mid-job and started again: the job is
    # queued again and finishes; the CLI waits meanwhile instead of failing.
    port = free_port()
    server, url = start_server("--data-dir", data, "--no-auth", "--demo-delay", "60", "--port", str(port))
    proc = subprocess.Popen([CLI, "analyze", "--url", url, doc], env=cli_env(xdg),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    err = Lines(proc.stderr)
    running = err.wait_for(r"Summarizing part")
    server.kill()
    server.wait()
    waiting = err.wait_for(r"waiting .*Nothing is listening")
    server, url = start_server("--data-dir", data, "--no-auth", "--demo-delay", "20", "--port", str(port))
    out, _ = proc.communicate(timeout=60)
    check("server killed mid-job: the CLI waits, and the job finishes after the restart",
          running and waiting and proc.returncode == 0 and out.startswith("# Wind and water"),
          "%s %r %r" % (proc.returncode, out, "".join(err.seen)))
    restart_log = stop(server)
    check("the restarted server says it resumed the job", "Resuming 1 document job" in restart_log, restart_log)

    # The CLI is killed mid-follow; --resume follows the same job to the end.
    minutes = os.path.join(home, "minutes.txt")
    with open(minutes, "w") as f:
        f.write("Minutes of the meeting about the turbine contract and the schedule for spring repairs.\n")
    server, url = start_server("--data-dir", data, "--no-auth", "--demo-delay", "50")
    proc = subprocess.Popen([CLI, "analyze", "--url", url, minutes], env=cli_env(xdg),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    err = Lines(proc.stderr)
    running = err.wait_for(r"minutes\.txt: +\d+%")
    proc.kill()
    proc.wait()
    result = cli("analyze", "--url", url, "--resume", "--json", env=xdg)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    status, listing = http(url + "/api/analyze")
    sent = [job for job in listing["jobs"] if job["filename"] == "minutes.txt"]
    check("CLI killed mid-follow: --resume follows the job to the end",
          running and result.returncode == 0 and "Resuming 1 unfinished job" in result.stderr
          and len(lines) == 1 and lines[0]["status"] == "done" and lines[0]["file"] == "minutes.txt",
          result.stdout + result.stderr)
    check("--resume does not send the document twice", len(sent) == 1, sent)
    result = cli("analyze", "--url", url, "--resume", env=xdg)
    check("--resume with nothing left says so and exits 0", result.returncode == 0 and "No unfinished jobs" in result.stderr,
          result.stderr)
    stop(server)


class TasksHandler(BaseHTTPRequestHandler):
    """A server in the plainer tutorial shape: only /api/tasks."""
    prompts = []
    polls = {}

    def log_message(self, *args):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path == "/api/tasks":
            self.prompts.append(json.loads(body)["prompt"])
            self.reply(200, {"task_id": str(len(self.prompts))})
        else:
            self.reply(404, {"detail": "Not Found"})

    def do_GET(self):
        match = re.fullmatch(r"/api/tasks/(\d+)", self.path)
        if not match:
            self.reply(404, {"detail": "Not Found"})
            return
        n = self.polls[match.group(1)] = self.polls.get(match.group(1), 0) + 1
        if n < 2:
            self.reply(200, {"status": "running", "progress": 50})
        else:
            self.reply(200, {"status": "done", "progress": 100, "result": "Summary from the tasks server."})


with tempfile.TemporaryDirectory() as home:
    tasks = ThreadingHTTPServer(("127.0.0.1", 0), TasksHandler)
    threading.Thread(target=tasks.serve_forever, daemon=True).start()
    notes = os.path.join(home, "notes.txt")
    with open(notes, "w") as f:
        f.write("Plain text for a plain server.")
    result = cli("analyze", "--url", "http://127.0.0.1:%d" % tasks.server_address[1], "--json", notes,
                 env={"XDG_DATA_HOME": home})
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    check("analyze against a tasks-only server sends the text as the prompt",
          TasksHandler.prompts == ["Plain text for a plain server."] and result.returncode == 0
          and lines and lines[0]["result"]["summary"] == "Summary from the tasks server.", result.stdout + result.stderr)
    tasks.shutdown()

# ---- voice: a WAV file as the microphone ----

# GStreamer makes GLib replace its first quark block, which it never frees
# on purpose; LeakSanitizer (in the sanitizer build) would call that a
# leak. Memory errors are still checked.
GST = {"ASAN_OPTIONS": "detect_leaks=0:abort_on_error=1"}

with tempfile.TemporaryDirectory() as data, tempfile.TemporaryDirectory() as files:
    speech = os.path.join(files, "hello.wav")
    reply = os.path.join(files, "reply.wav")
    subprocess.run(["espeak-ng", "-w", speech, "Hello there. What is the weather like today?"], check=True)
    server, url = start_server("--data-dir", data, "--no-auth")

    result = cli("voice", "--url", url, "--fast", "--input", speech, "--output", reply, env=GST)
    lines = result.stdout.splitlines()
    check("voice: an espeak-ng WAV as the microphone is heard as one turn and answered",
          result.returncode == 0 and len(lines) == 2 and lines[0].startswith("you: speech, ")
          and lines[1].startswith("assistant: This is the demo engine."), result.stdout + result.stderr)
    size = os.path.getsize(reply) if os.path.exists(reply) else 0
    check("voice: the reply's audio is written as a WAV of several seconds",
          size > 44 + 24000 * 2 * 3 and open(reply, "rb").read(4) == b"RIFF", size)

    result = cli("voice", "--url", url, "--fast", "--push-to-talk", "--input", speech, "--output", reply, env=GST)
    check("voice --push-to-talk: the whole input is one turn", result.returncode == 0
          and result.stdout.count("assistant: ") == 1, result.stdout + result.stderr)

    result = cli("voice", "--url", url, "--input", os.path.join(files, "missing.wav"), "--output", reply, env=GST)
    check("voice without its input file is a usage error", result.returncode == 2 and "is not a file" in result.stderr,
          result.stderr)
    stop(server)

    result = cli("voice", "--url", url, "--fast", "--input", speech, "--output", reply, env=GST)
    check("voice reports a server that is not there in words", result.returncode == 1
          and "Nothing is listening" in result.stderr, result.stderr)

sse_input = 'event: token\r\ndata: a\r\n\r\n: comment\n\ndata: {"x": 1}\nid: 9\n\ndata: half'
result = subprocess.run([CLI, "sse", "-"], input=sse_input, capture_output=True, text=True, timeout=10)
check("sse - reads a stream from stdin", result.returncode == 0 and [json.loads(l) for l in result.stdout.splitlines()] ==
      [{"event": "token", "data": "a", "id": ""}, {"event": "message", "data": '{"x": 1}', "id": "9"}], result.stdout)
result = subprocess.run([CLI, "sse", "--max-line", "8", "-"], input="data: much too long\n\n", capture_output=True, text=True, timeout=10)
check("sse - refuses lines over --max-line in words", result.returncode == 1 and "larger than" in result.stderr, result.stderr)

# sse against raw servers: a body cut short, and data holding U+0000.
def raw_once(response):
    """Serves one connection: reads the request, sends @response as it is, closes."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def serve():
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.sendall(response)
        conn.close()
        listener.close()
    threading.Thread(target=serve, daemon=True).start()
    return "http://127.0.0.1:%d/events" % listener.getsockname()[1]


def chunk(data):
    return b"%x\r\n" % len(data) + data + b"\r\n"


SSE_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
ONE = [{"event": "message", "data": "one", "id": ""}]
for name, tail, expected, words in (
        ("at a chunk boundary", b"", "last chunk never came", ONE),
        ("before a chunk's CRLF", b"5\r\ndata:", "in the middle of the event stream", ONE),
        ("inside a chunk", b"40\r\ndata: tw", "in the middle of the event stream", ONE)):
    result = cli("sse", raw_once(SSE_HEAD + chunk(b"data: one\n\n") + tail))
    check("sse exits 1 on a chunked body cut %s and says so" % name,
          result.returncode == 1 and expected in result.stderr
          and [json.loads(l) for l in result.stdout.splitlines()] == words, result.stdout + result.stderr)
result = cli("sse", raw_once(SSE_HEAD + chunk(b"data: one\n\n") + b"0\r\n\r\n"))
check("sse exits 0 on a chunked body that ends with its last chunk",
      result.returncode == 0 and result.stderr == "" and [json.loads(l) for l in result.stdout.splitlines()] == ONE,
      result.stdout + result.stderr)
result = cli("sse", raw_once(SSE_HEAD + chunk(b"id: 3\ndata: a\x00b\n\ndata: \x00\n\n") + b"0\r\n\r\n"))
check("sse prints data holding U+0000 as \\u0000", result.returncode == 0 and result.stdout.splitlines() ==
      ['{"event":"message","data":"a\\u0000b","id":"3"}', '{"event":"message","data":"\\u0000","id":"3"}'],
      result.stdout + result.stderr)
result = subprocess.run([CLI, "sse", "-"], input="data: x\x00y\n\n", capture_output=True, text=True, timeout=10)
check("sse - prints data holding U+0000 as \\u0000", result.returncode == 0 and
      [json.loads(l) for l in result.stdout.splitlines()] == [{"event": "message", "data": "x\x00y", "id": ""}],
      result.stdout)

# agent: runs on the real server, approvals from flags and from the terminal.
with tempfile.TemporaryDirectory() as home:
    workspace = os.path.join(home, "work")
    os.makedirs(workspace)
    with open(os.path.join(workspace, "README.md"), "w") as f:
        f.write("# Tide tables\nPredicts high water.\n")
    notes = os.path.join(workspace, "NOTES.md")
    proc, url = start_server("--no-auth", "--data-dir", os.path.join(home, "data"), "--demo-delay", "1",
                             "--workspace-root", workspace)
    try:
        def agent(*args, stdin=""):
            return subprocess.run([CLI, "agent", "--url", url, "--workspace", workspace, *args], input=stdin,
                                  capture_output=True, text=True, timeout=30, env=cli_env())

        result = agent("--approve", "no", "Take notes")
        check("agent --approve no: the run completes and reports the refusal", result.returncode == 0
              and "refused" in result.stdout and not os.path.exists(notes), result.stdout + result.stderr)
        check("agent prints the timeline to stderr", "→ list_dir" in result.stderr and "Denied (--approve no)" in result.stderr
              and "+++ b/NOTES.md" in result.stderr, result.stderr)
        result = agent("--approve", "yes", "Take notes")
        check("agent --approve yes: the file is written, the result on stdout", result.returncode == 0
              and "I wrote my notes" in result.stdout and os.path.exists(notes), result.stdout + result.stderr)
        os.unlink(notes)
        result = agent("Take notes\nrun: true\nrun: true again\nrun: echo again", stdin="a\ny\nn\n")
        check("agent asks on the terminal; 'a' allows that program for the run, not another",
              result.returncode == 0 and "[a]lways “true” in this run" in result.stderr
              and result.stderr.count("Allow? ") == 3 and result.stderr.count("Exit status 0") == 3
              and "Refused by the user" in result.stderr and not os.path.exists(notes), result.stderr)
        result = agent("Take notes\nask: Which colour?", stdin="teal\ny\n")
        written = open(notes).read() if os.path.exists(notes) else ""
        check("agent answers a question from the terminal", result.returncode == 0 and "You said: teal" in written,
              result.stderr)
        os.unlink(notes)
        result = agent("Take notes", stdin="")
        check("agent: the end of the input denies, never allows", result.returncode == 0
              and "No answer on the standard input: denied" in result.stderr and not os.path.exists(notes), result.stderr)
        result = agent("--approve", "maybe", "Take notes")
        check("agent --approve takes ask, yes or no", result.returncode == 2 and "ask, yes or no" in result.stderr, result.stderr)
        result = subprocess.run([CLI, "agent", "--url", url, "--workspace", os.path.join(workspace, "nowhere"), "x"],
                                capture_output=True, text=True, timeout=10, env=cli_env())
        check("agent reports a workspace that is not a folder in words", result.returncode == 1
              and "is not a folder on the server" in result.stderr, result.stderr)
        result = subprocess.run([CLI, "agent", "--url", url, "--workspace", home, "x"],
                                capture_output=True, text=True, timeout=10, env=cli_env())
        check("agent: the server refuses a workspace outside its --workspace-root", result.returncode == 1
              and "does not let runs work in" in result.stderr, result.stderr)
        result = agent("--approve", "no", "Take notes\nrun: printf \033[2J\033[1Aevil")
        check("agent keeps terminal control characters out of the timeline", "\x1b" not in result.stderr, repr(result.stderr[-400:]))
    finally:
        stop(proc)

result = cli("--help")
check("cli --help exits 0 and lists its commands", result.returncode == 0 and all(
    name in result.stdout for name in ("health", "sse", "chat", "analyze", "voice", "agent")), result.stdout)
result = cli("health", "--help")
check("cli health --help lists --url and --token", result.returncode == 0 and "--url" in result.stdout and "--token" in result.stdout)
for command in ("health", "sse", "chat", "analyze", "voice", "agent"):
    result = cli(command, "--help")
    usage = [line for line in result.stdout.splitlines() if line.strip().startswith("ai-console-cli %s" % command)]
    check("cli %s --help prints its synopsis once" % command,
          result.returncode == 0 and len(usage) == 1 and not re.search(r"\b(\w+) \1\b", usage[0]), result.stdout[:300])
result = cli("frobnicate")
check("cli unknown command exits 2", result.returncode == 2 and "Unknown command" in result.stderr, result.stderr)
result = cli("health")
check("cli health without --url exits 2", result.returncode == 2, result.stderr)
result = cli("health", "--url", "http://127.0.0.1:9")
check("cli reports an unreachable server in words", result.returncode == 1 and "Nothing is listening" in result.stderr, result.stderr)

print("TAP version 13")
print("1..%d" % len(results))
for number, (name, ok, detail) in enumerate(results, 1):
    print("%s %d - %s" % ("ok" if ok else "not ok", number, name))
    if not ok and detail:
        for line in str(detail).splitlines():
            print("# " + line)
sys.exit(0 if all(ok for _, ok, _ in results) else 1)
