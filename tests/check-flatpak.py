#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Checks a Flatpak manifest the way flatpak-builder reads it (no GNOME
runtime here to build with): it must parse with warnings fatal, pin a GNOME
runtime, build this tree with meson, and ask for no more than it needs."""

import json
import os
import subprocess
import sys

manifest, expected_id = os.path.abspath(sys.argv[1]), sys.argv[2]
env = dict(os.environ, G_DEBUG="fatal-warnings")
shown = subprocess.run(["flatpak-builder", "--show-manifest", manifest],
                       capture_output=True, text=True, env=env, cwd=os.path.dirname(manifest))
failures = []
if shown.returncode != 0:
    print(shown.stderr)
    sys.exit("flatpak-builder --show-manifest failed")
data = json.loads(shown.stdout)

allowed = {"--share=network", "--share=ipc", "--socket=wayland", "--socket=fallback-x11",
           "--device=dri", "--socket=pulseaudio"}
finish = set(data.get("finish-args", []))

if data.get("id") != expected_id:
    failures.append("id is %r, expected %r" % (data.get("id"), expected_id))
if data.get("runtime") != "org.gnome.Platform" or data.get("sdk") != "org.gnome.Sdk":
    failures.append("runtime/sdk must be org.gnome.Platform/org.gnome.Sdk")
if not str(data.get("runtime-version", "")).isdigit():
    failures.append("runtime-version must be a pinned release, not %r" % data.get("runtime-version"))
if finish != allowed:
    failures.append("finish-args differ from least privilege: extra %s, missing %s"
                    % (sorted(finish - allowed), sorted(allowed - finish)))
if any(arg.startswith(("--filesystem", "--talk-name", "--own-name", "--device=all", "--socket=session-bus", "--socket=system-bus")) for arg in finish):
    failures.append("no filesystem or bus grants: files come through the portal")
app = data["modules"][-1]
if app.get("name") != "ai-console" or app.get("buildsystem") != "meson":
    failures.append("the last module must build ai-console with meson")
if not any(s.get("type") == "dir" and s.get("path") == ".." for s in app.get("sources", [])):
    failures.append("the app module must build the local tree")
if data.get("command") != "ai-console":
    failures.append("command must be ai-console")

for failure in failures:
    print("FAIL: " + failure)
sys.exit(1 if failures else 0)
