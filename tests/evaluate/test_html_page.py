"""The HTML report, rendered by headless Chromium (Debian's `chromium` package) and checked as pixels.

Checking the HTML string alone would pass a page whose chart never loads or whose layout collapses;
so the page is rendered to a screenshot and the screenshot is checked: the expected size, not blank,
dark text on it, the chart's bar colour (which exists only inside the embedded PNG, so the data URI
loaded), and both models' response boxes side by side. Model output is hostile input: a response
carrying markup must show up as text, never become part of the page.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from tests.reward.converse_server import converse_reply

from .conftest import records

INSTALL = "apt-get update && apt-get install -y chromium"
WIDTH, HEIGHT = 1280, 1600
BAR_BLUE = (0x15, 0x65, 0xC0)  # rft.plots.accuracy_bars' bar colour
RIGHT_BOX, WRONG_BOX = (0xF1, 0xF8, 0xF1), (0xFD, 0xF2, 0xF2)  # the page's response box backgrounds
HOSTILE = '<script>document.body.innerHTML="pwned"</script></div><img src="https://example.com/x.png">'
BASE_ID, OTHER = "us.amazon.nova-2-lite-v1:0", "us.amazon.nova-pro-v1:0"


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(f"headless Chromium is needed to check the HTML report; install it: {INSTALL}")


def screenshot(page: Path, out: Path, profile: Path) -> Image.Image:
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",  # CI runs as root in a container
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        f"--user-data-dir={profile}",
        f"--window-size={WIDTH},{HEIGHT}",
        f"--screenshot={out}",
        page.resolve().as_uri(),
    ]
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    return Image.open(out).convert("RGB")


def _near(pixel: tuple[int, int, int], color: tuple[int, int, int], tolerance: int = 6) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, color, strict=True))


def test_the_page_renders_offline_with_its_chart_and_escaped_responses(
    workdir, server, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from rft.cli import app

    data = workdir("gsm8k")
    by_user = {r["messages"][-1]["content"]: r for r in records(data / "test.jsonl")}

    def respond(_: int, call):
        gold = by_user[call.user]["reference_answer"]["final_answer"]
        if call.model_id == OTHER:
            return converse_reply(f"{HOSTILE}\nSo the answer is:\n#### {gold}")
        return converse_reply("I think it is\n#### 0")

    server(respond=respond)
    result = CliRunner().invoke(
        app, ["evaluate", "gsm8k", "--model", BASE_ID, "--model", OTHER, "--limit", "6"]
    )
    assert result.exit_code == 0, result.output
    page = Path("reports/evaluate-gsm8k.html")
    html = page.read_text(encoding="utf-8")

    # Offline: nothing is fetched; the chart is inline.
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html)
    assert 'src="data:image/png;base64,' in html
    # Hostile output is text, not markup.
    assert "<script" not in html and "&lt;script&gt;" in html
    assert 'src="https://example.com' not in html
    improved = json.loads(Path("reports/evaluate-gsm8k.json").read_text())["comparisons"][0]["improved"]
    assert len(improved) == 6 and all(prompt_id in html for prompt_id in improved)

    image = screenshot(page, tmp_path / "page.png", tmp_path / "profile")
    assert image.size == (WIDTH, HEIGHT)
    total = WIDTH * HEIGHT
    colours = Counter({colour: count for count, colour in image.getcolors(maxcolors=total)})
    assert colours.most_common(1)[0][1] < 0.95 * total, "the page rendered (nearly) blank"
    dark = sum(n for p, n in colours.items() if sum(p) < 200)
    assert 0.002 * total < dark < 0.3 * total, "no dark text on the page (or nothing but)"
    blue = sum(n for p, n in colours.items() if _near(p, BAR_BLUE))
    assert blue > 2000, "the chart's bars are not on the page: the embedded image did not load"
    right = sum(n for p, n in colours.items() if _near(p, RIGHT_BOX, 2))
    wrong = sum(n for p, n in colours.items() if _near(p, WRONG_BOX, 2))
    assert right > 5000 and wrong > 5000, "the side-by-side response boxes are missing"
