#!/usr/bin/env python3
"""Opens an HTML file in headless Chromium and fails unless it renders cleanly offline.

    page_in_chromium.py PAGE.html SCREENSHOT.png [--expect-failure]

Checks, from Chromium's own logs:
- no console message of any level (Chromium logs page console output as INFO:CONSOLE lines
  on stderr with --enable-logging=stderr --v=0; errors and CSP refusals land there too);
- no network request made by the page: in the NetLog, every URL request whose network
  isolation key is the file:// page's (the browser's own background requests carry another
  key or "not an origin" as initiator) must be for a file: or data: URL;
- the DOM Chromium built (--dump-dom) has the page's title and its three SVG charts.
With --expect-failure the verdict is inverted: CI uses it on a deliberately bad page to prove
the checks can fail.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def chromium(args, profile):
    cmd = ["chromium", *FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def main():
    page, shot = sys.argv[1], sys.argv[2]
    expect_failure = "--expect-failure" in sys.argv
    url = "file://" + os.path.abspath(page)
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        netlog = os.path.join(tmp, "net.json")
        run = chromium(
            [
                "--enable-logging=stderr",
                "--v=0",
                f"--log-net-log={netlog}",
                f"--screenshot={os.path.abspath(shot)}",
                "--window-size=1280,3200",
                url,
            ],
            os.path.join(tmp, "profile-shot"),
        )
        if run.returncode != 0:
            problems.append(f"chromium exited {run.returncode}: {run.stderr[-2000:]}")
        for line in run.stderr.splitlines():
            if ":CONSOLE" in line:
                problems.append("console: " + line.split("]", 1)[-1].strip())
        with open(netlog) as f:
            log = json.load(f)
        names = {v: k for k, v in log["constants"]["logEventTypes"].items()}
        for e in log["events"]:
            if names.get(e["type"]) != "URL_REQUEST_START_JOB":
                continue
            p = e.get("params", {})
            from_page = "file://" in p.get("network_isolation_key", "") or p.get(
                "initiator"
            ) not in ("not an origin", None)
            if from_page and not p.get("url", "").startswith(("file:", "data:")):
                problems.append("network request by the page: " + p.get("url", "?"))
        dom = chromium(["--dump-dom", url], os.path.join(tmp, "profile-dom")).stdout
        if expect_failure is False:
            if "<title>" not in dom or len(re.findall(r"<svg\b", dom)) != 3:
                problems.append("the rendered DOM lacks the title or the three charts")
        if not os.path.exists(shot) or os.path.getsize(shot) < 10_000:
            problems.append(f"no usable screenshot at {shot}")
    if expect_failure:
        if not problems:
            print(f"{page}: the checks found nothing in a page built to fail them", file=sys.stderr)
            return 1
        print(f"{page}: caught as expected ({len(problems)} problems)")
        return 0
    for p in problems:
        print(f"{page}: {p}", file=sys.stderr)
    if problems:
        return 1
    print(f"{page}: rendered with no console message and no network request; screenshot {shot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
