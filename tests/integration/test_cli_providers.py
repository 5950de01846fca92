#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""ai-console-cli with --kind openai|anthropic: the built-in backend runs in
the CLI's process with a scripted provider as its engine, the same path as
the app's. The provider records every request, so each check can say that
the answer came from it, and how often it was asked."""

import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from scripted_provider import SPOKEN_IN, SPOKEN_OUT, SUMMARY, completions, start_provider  # noqa: E402

CLI, SERVER = sys.argv[1], sys.argv[2]
results = []

# GStreamer makes GLib replace its first quark block, which it never frees
# on purpose; LeakSanitizer would call that a leak.
GST = {"ASAN_OPTIONS": "detect_leaks=0:abort_on_error=1"}


def check(name, condition, detail=""):
    results.append((name, bool(condition), detail))



def cli(*args, home, env=None, stdin=""):
    full_env = dict(os.environ)
    full_env.pop("AI_CONSOLE_TOKEN", None)
    full_env.update({"XDG_DATA_HOME": os.path.join(home, "data"), "PROVIDER_KEY": "sk-test-key"})
    full_env.update(env or {})
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=60, env=full_env, input=stdin)


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

# ai-console-server with the anthropic engine: a remote AI Console server
# that drives Anthropic, asked by the CLI as a console server.
with tempfile.TemporaryDirectory() as home:
    import re
    anthropic, anthropic_base = start_provider("anthropic", "claude-test")
    env = {k: v for k, v in os.environ.items() if k != "G_DEBUG"}
    env["PROVIDER_KEY"] = "sk-server-key"
    server = subprocess.Popen([SERVER, "--port", "0", "--no-auth", "--data-dir", os.path.join(home, "server"),
                               "--engine", "anthropic", "--upstream", anthropic_base, "--upstream-key-env", "PROVIDER_KEY"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    match = re.match(r"Listening on (http://\S+)", server.stdout.readline())
    doc = os.path.join(home, "tides.md")
    with open(doc, "w") as f:
        f.write("# Tides\n\nHigh water comes twice a day.\n")
    result = cli("analyze", "--url", match.group(1) if match else "http://127.0.0.1:9", "--json", doc, home=home)
    asked = completions(anthropic, "/v1/messages")
    check("ai-console-server --engine anthropic summarises through Anthropic with its key",
          result.returncode == 0 and SUMMARY in result.stdout and asked
          and asked[0]["headers"].get("x-api-key") == "sk-server-key", result.stdout + result.stderr)
    server.terminate()
    server.communicate(timeout=10)
    anthropic.shutdown()

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
