#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""ai-console-server and ai-console-cli as separate processes: the server
binary with its real flags, the CLI talking to it over loopback. TAP out."""

import json
import os
import re
import signal
import stat
import subprocess
import sys
import tempfile
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


def cli(*args, env=None):
    full_env = dict(os.environ)
    full_env.pop("AI_CONSOLE_TOKEN", None)
    full_env.update(env or {})
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=30, env=full_env)


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

sse_input = 'event: token\r\ndata: a\r\n\r\n: comment\n\ndata: {"x": 1}\nid: 9\n\ndata: half'
result = subprocess.run([CLI, "sse", "-"], input=sse_input, capture_output=True, text=True, timeout=10)
check("sse - reads a stream from stdin", result.returncode == 0 and [json.loads(l) for l in result.stdout.splitlines()] ==
      [{"event": "token", "data": "a", "id": ""}, {"event": "message", "data": '{"x": 1}', "id": "9"}], result.stdout)
result = subprocess.run([CLI, "sse", "--max-line", "8", "-"], input="data: much too long\n\n", capture_output=True, text=True, timeout=10)
check("sse - refuses lines over --max-line in words", result.returncode == 1 and "larger than" in result.stderr, result.stderr)

result = cli("--help")
check("cli --help exits 0 and lists its commands", result.returncode == 0 and all(
    name in result.stdout for name in ("health", "sse", "chat")), result.stdout)
result = cli("health", "--help")
check("cli health --help lists --url and --token", result.returncode == 0 and "--url" in result.stdout and "--token" in result.stdout)
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
