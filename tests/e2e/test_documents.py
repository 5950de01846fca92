#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""End to end, through the accessibility tree: open a document with the
app, watch its job make progress, read the summary; then open a long one,
quit mid-job, start again and see it finish. TAP out."""

import os
import sys
import tempfile
import time

from aictest import check, launch, nodes, report, stop_app, wait_for  # sets dogtail up: import it first

APP = sys.argv[1]

ARTICLE = """# Wind and water in the valleys

Small hydro plants turn river flow into steady electricity for mountain villages.
Wind turbines add power in winter, when rivers freeze and hydro output drops.
Together the two sources cover most of the yearly demand in the valleys.

Maintenance is the main cost: turbines need yearly checks and hydro intakes need cleaning.
Villages that share technicians cut these costs by a third.
"""


def long_document():
    """About ten parts for the worker, so progress can be watched."""
    paragraphs = []
    for i in range(2000):
        paragraphs.append("Section %d notes that river turbines in village %d produced power through the "
                          "winter while the wind farm covered the evening peak of demand. "
                          "Technicians visited twice and the intake screens were cleaned." % (i, i))
    return "# Long report on valley energy\n\n" + "\n\n".join(paragraphs) + "\n"


def all_text(root, role="label"):
    return [n.name for n in nodes(root, role) if n.name]


with tempfile.TemporaryDirectory() as data_home, tempfile.TemporaryDirectory() as files:
    article = os.path.join(files, "valleys.md")
    report_path = os.path.join(files, "long-report.txt")
    with open(article, "w") as f:
        f.write(ARTICLE)
    with open(report_path, "w") as f:
        f.write(long_document())

    # Opening a document with the app (as Files' "Open With" does).
    proc, app = launch(APP, data_home, report_path)
    try:
        check("the app starts", app is not None)
        documents = wait_for(lambda: nodes(app, "list", name="Documents")[0], 20)
        check("the Documents view shows the opened file", bool(wait_for(
            lambda: nodes(documents, "label", name="long-report.txt"), 20)))
        progress = wait_for(lambda: [t for t in all_text(documents) if "Summarizing ·" in t], 30)
        check("its progress is shown while it runs", bool(progress), all_text(documents))
        first_percent = int(progress[0].split("·")[1].strip().rstrip("%").strip()) if progress else -1
        later = wait_for(lambda: [t for t in all_text(documents) if "Summarizing ·" in t
                                  and int(t.split("·")[1].strip().rstrip("%").strip()) > first_percent], 30)
        check("and moves on", bool(later), all_text(documents))
    except Exception as error:
        check("the first run's steps ran", False, repr(error))
    finally:
        # Quit mid-job: the job is kept and followed again at the next start.
        code, output = stop_app(proc)
    check("the app quits cleanly mid-job", code in (0, -15), output[-2000:])

    proc, app = launch(APP, data_home, article)
    try:
        documents = wait_for(lambda: nodes(app, "list", name="Documents")[0], 20)
        check("after a restart the unfinished job is listed again",
              bool(wait_for(lambda: nodes(documents, "label", name="long-report.txt"), 20)))
        # The newly opened document is selected: its summary appears.
        summary = wait_for(lambda: nodes(app, "label", contains="Small hydro plants turn river flow"), 40)
        check("the opened document's summary is shown", bool(summary))
        check("with its title", bool(nodes(app, "label", name="Wind and water in the valleys")))
        check("and its key points", bool(nodes(app, "label", contains="• ")))
        buttons = [n.name for n in nodes(app, "push button")]
        # GTK 4.8 names a button with a mnemonic "_Copy Copy".
        check("Copy and Export are offered", any(b.endswith("Copy") for b in buttons)
              and any(b.endswith("Export…") for b in buttons), buttons)
        done = wait_for(lambda: len([t for t in all_text(documents) if t == "Done"]) == 2, 60)
        check("the job from before the restart finishes too", bool(done), all_text(documents))
    except Exception as error:
        check("the restart steps ran", False, repr(error))
    finally:
        code, output = stop_app(proc)
    if not all(ok for _, ok, _ in __import__("aictest").results):
        print("# app output:\n# " + output[-3000:].replace("\n", "\n# "))

report()
