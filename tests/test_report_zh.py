"""The Chinese report in a real headless Chromium: every text renders in a CJK font, never as boxes.

CI installs Debian's fonts-noto-cjk (.ci/run); without a CJK font Chromium draws each Chinese character as
the same empty box, and this test fails.
"""

from __future__ import annotations

import shutil

from test_report import browser, make_scores  # noqa: F401 - the browser fixture

from kamrisk import write_report

_PIXELS = """
const font = getComputedStyle(document.querySelector(arguments[0])).fontFamily;
function pixels(text) {
  const canvas = document.createElement("canvas");
  canvas.width = 60; canvas.height = 40;
  const g = canvas.getContext("2d");
  g.font = "32px " + font;
  g.fillText(text, 0, 32);
  return Array.from(g.getImageData(0, 0, 60, 40).data).join(",");
}
return arguments[1].map(pixels);
"""


def test_chinese_report_renders_as_text_not_boxes(browser, tmp_path):  # noqa: F811 - the fixture
    from selenium.webdriver.common.by import By

    path = write_report(make_scores("zh"), tmp_path / "report_zh.html", lang="zh")
    browser.get(path.resolve().as_uri())
    title = browser.find_element(By.CSS_SELECTOR, "h1").text
    assert any("\u4e00" <= ch <= "\u9fff" for ch in title), title
    # two different characters in the page's own font, and a code point no font has (drawn as a box)
    first, second, box = browser.execute_script(_PIXELS, "h1", [title[0], "流", "\U0010fffd"])
    assert first != second, "two different Chinese characters render the same: no CJK font, boxes instead"
    assert first != box and second != box
    browser.save_screenshot(str(tmp_path / "report_zh.png"))
    shutil.copyfile(tmp_path / "report_zh.png", "/tmp/kamrisk_report_zh.png")
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
