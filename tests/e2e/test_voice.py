#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""End to end, through the accessibility tree: start a voice conversation
with a recording as the microphone (there is no sound card here), see both
sides of the transcript and the state, and end it. TAP out."""

import os
import subprocess
import sys
import tempfile
import time

from aictest import check, click, launch, nodes, report, stop_app, wait_for  # sets dogtail up: import it first

APP = sys.argv[1]

with tempfile.TemporaryDirectory() as data_home, tempfile.TemporaryDirectory() as files:
    speech = os.path.join(files, "question.wav")
    heard = os.path.join(files, "speakers.wav")
    subprocess.run(["espeak-ng", "-w", speech, "Hello there. What is the weather like today?"], check=True)

    proc, app = launch(APP, data_home, extra={"AI_CONSOLE_VOICE_INPUT": speech, "AI_CONSOLE_VOICE_OUTPUT": heard})
    try:
        check("the app starts", app is not None)
        ready = wait_for(lambda: nodes(app, "label", contains="demo engine"), 30)
        check("the built-in backend is ready", bool(ready))
        view = wait_for(lambda: nodes(app, "page tab", name="Voice")[0], 10)
        check("the Voice view can be chosen", bool(view) and click(view))
        # GTK 4.8 shows a toggle button as a push button.
        talk = wait_for(lambda: nodes(app, "push button", name="Talk")[0], 10)
        check("the view has a Talk button", bool(talk))
        empty = wait_for(lambda: nodes(app, "label", contains="will be written here"), 10)
        check("before anything is said, the transcript says what it will hold (not a blank card)", bool(empty))
        click(talk)
        # The meter moves with the recording standing in for the microphone.
        meter = wait_for(lambda: nodes(app, "level bar", name="Microphone level")[0], 10)
        levels = []
        for _ in range(30):
            try:
                levels.append(meter.queryValue().currentValue)
            except Exception:
                pass
            if any(level > 0.05 for level in levels):
                break
            time.sleep(0.1)
        check("the level meter moves with the input", any(level > 0.05 for level in levels), levels[-10:])
        transcript = wait_for(lambda: nodes(app, "list", name="Transcript")[0], 10)
        user = wait_for(lambda: nodes(transcript, "label", contains="speech, "), 30)
        check("what the user said appears in the transcript", bool(user),
              [n.name for n in nodes(transcript, "label")])
        reply = wait_for(lambda: nodes(transcript, "label", contains="This is the demo engine."), 30)
        check("the spoken reply's words appear as it is spoken", bool(reply))
        state = wait_for(lambda: [n for n in nodes(app, "label") if n.name in ("The assistant is speaking", "Listening", "Thinking…")], 10)
        check("the state is shown, saying who speaks", bool(state))
        check("while on, Talk is a button that ends the conversation", talk.description == "End the conversation",
              talk.description)
        click(talk)
        stopped = wait_for(lambda: nodes(app, "label", name="Press the button to start talking"), 10)
        check("Talk again ends the conversation", bool(stopped))
        check("and is again the button that starts one", wait_for(lambda: talk.description == "Start a conversation", 5),
              talk.description)
        check("the reply was played (to the file standing in for the speakers)",
              os.path.exists(heard) and os.path.getsize(heard) > 44 + 24000, os.path.exists(heard) and os.path.getsize(heard))
    except Exception as error:
        check("the steps ran", False, repr(error))
    finally:
        code, output = stop_app(proc)
    check("the app quits cleanly", code in (0, -15), output[-2000:])
    if not all(ok for _, ok, _ in __import__("aictest").results):
        print("# app output:\n# " + output[-3000:].replace("\n", "\n# "))

# No microphone at all (there is no sound card here): one plain sentence on
# the page, not the sound system's words in a toast.
with tempfile.TemporaryDirectory() as data_home:
    proc, app = launch(APP, data_home)
    try:
        wait_for(lambda: nodes(app, "label", contains="demo engine"), 30)
        click(wait_for(lambda: nodes(app, "page tab", name="Voice")[0], 10))
        talk = wait_for(lambda: nodes(app, "push button", name="Talk")[0], 10)
        click(talk)
        said = wait_for(lambda: nodes(app, "label", contains="No microphone could be opened."), 20)
        check("a missing microphone is said on the page in one sentence", bool(said),
              [n.name for n in nodes(app, "label")][-15:])
        check("and the conversation ends", bool(wait_for(lambda: nodes(app, "label", name="Press the button to start talking"), 10)))
    except Exception as error:
        check("the microphone steps ran", False, repr(error))
    finally:
        code, output = stop_app(proc)

report()
