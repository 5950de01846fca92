#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Escape sequences in a model's reply against `ai-console-cli chat`: a
hostile console backend streams tokens that clear the screen, retitle the
window, write the clipboard (OSC 52) and rewrite the line with \\r, some
cut in two between tokens. On a terminal (a pty) none of it reaches the
screen; into a pipe the reply goes byte for byte as it came. TAP out."""

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import json
import os
import pty
import select
import subprocess
import termios
import sys
import threading

CLI = sys.argv[1]
results = []

TOKENS = [
    "Hello",
    "\x1b[2J\x1b[1A",                       # clear the screen, cursor up
    " wor",
    "\x1b]52;c;cm0gLXJmIH4K\x07",          # OSC 52 with BEL
    "ld",
    "\x1b]0;pwned",                         # a window title, its end ...
    "\x07",                                 # ... in the next token
    "!\rEVIL",                              # CR would overwrite the line
    "\x1b]5",                               # OSC 52 cut mid-number ...
    "2;c;ZXZpbA==\x1b",                     # ... and mid-terminator ...
    "\\ done\u009b31m\n",                   # ... ST; then a C1 CSI
    "tab\there",
]
RAW = "".join(TOKENS)
SHOWN = "Hello world!EVIL done\ntab\there"


def check(name, condition, detail=""):
    results.append((name, bool(condition), detail))


class Hostile(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        body = 'event: start\ndata: {"type":"start","stream_id":"s1","model":"m"}\n\n'
        for number, token in enumerate(TOKENS, 1):
            body += "event: token\nid: %d\ndata: %s\n\n" % (number, json.dumps({"type": "token", "content": token}))
        body += 'event: done\ndata: {"type":"done","finish_reason":"stop"}\n\n'
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def env():
    full = dict(os.environ)
    full.pop("AI_CONSOLE_TOKEN", None)
    return full


def run_on_pty(args):
    """The CLI with its standard output on a pty; returns (status, bytes)."""
    master, slave = pty.openpty()
    # No translation by the terminal driver: the bytes as written.
    attrs = termios.tcgetattr(slave)
    attrs[1] &= ~termios.OPOST
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    proc = subprocess.Popen([CLI, *args], stdout=slave, stderr=subprocess.PIPE, env=env())
    os.close(slave)
    out = b""
    while True:
        ready, _, _ = select.select([master], [], [], 30)
        if not ready:
            proc.kill()
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    proc.wait(timeout=30)
    return proc.returncode, out


server = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
threading.Thread(target=server.serve_forever, daemon=True).start()
url = "http://127.0.0.1:%d" % server.server_address[1]
try:
    args = ["chat", "--url", url, "--quiet", "Say hello"]

    status, out = run_on_pty(args)
    text = out.decode("utf-8", "replace")
    check("chat on a terminal exits 0", status == 0, repr(text))
    controls = [c for c in text if (ord(c) < 0x20 and c not in "\n\t") or 0x7f <= ord(c) <= 0x9f]
    check("chat on a terminal shows no control character (ESC, BEL, CR, C1)", not controls, repr(text))
    check("chat on a terminal hides OSC 52's clipboard text and the title", "cm0g" not in text
          and "ZXZpbA" not in text and "pwned" not in text and "52;" not in text, repr(text))
    check("chat on a terminal shows the reply's words", text.rstrip("\n") == SHOWN, repr(text))

    result = subprocess.run([CLI, *args], capture_output=True, timeout=30, env=env())
    check("chat into a pipe exits 0", result.returncode == 0, result.stderr)
    check("chat into a pipe passes the reply unchanged", result.stdout.decode() == RAW + "\n"
          or result.stdout.decode() == RAW, repr(result.stdout))
finally:
    server.shutdown()

print("TAP version 13")
print("1..%d" % len(results))
for number, (name, ok, detail) in enumerate(results, 1):
    print("%s %d - %s" % ("ok" if ok else "not ok", number, name))
    if not ok and detail:
        for line in str(detail).splitlines():
            print("# " + line)
sys.exit(0 if all(ok for _, ok, _ in results) else 1)
