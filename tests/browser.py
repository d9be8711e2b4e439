"""Open a `dvc plots show` / `dvc plots diff` page in headless Chromium with the network off and
report what it drew: each vega plot's count of drawn marks, each picture, console errors."""

import contextlib
import dataclasses
import shutil
from pathlib import Path

from tests.conftest import ROOT

# Debian's chromium; scripts/setup.sh --tests installs it (a browser download is not possible here).
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# The offline HTML template (vega inlined) that scripts/plots-offline.sh builds.
OFFLINE_TEMPLATE = ROOT / ".cache" / "plots-template.html"
# Where the screenshots are kept for people to look at after a run (git-ignored).
ARTIFACTS = ROOT / "test-artifacts"

# Before the page's scripts run: wrap vegaEmbed (when the template defines it) so that each plot's
# outcome is recorded: the number of data marks in its scenegraph (axes, legends and titles are
# not role "mark"), or the error it failed with.
RECORD_VEGA = """
(() => {
  window.__plots = [];
  let embed;
  const count = n => (n.marktype && n.marktype !== 'group' && n.role === 'mark' ? n.items.length : 0)
    + (n.items || []).reduce((sum, item) => sum + count(item), 0);
  Object.defineProperty(window, 'vegaEmbed', {
    configurable: true,
    set(fn) { embed = fn; },
    get() {
      return embed && ((el, spec, opts) => {
        const plot = {id: String(el), marks: null, error: null};
        window.__plots.push(plot);
        return embed(el, spec, opts).then(
          result => { plot.marks = count(result.view.scenegraph().root); return result; },
          err => { plot.error = String(err); throw err; });
      });
    },
  });
})();
"""
# The flags Debian's Chromium needs here: no sandbox as root, and no background connections to a
# network that is not there (each would be refused and retried).
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclasses.dataclass
class Rendered:
    plots: dict[str, int | str]  # vega plot id -> drawn marks, or the error it failed with
    pictures: dict[str, bool]  # <img> src -> loaded with a size
    divs: int  # vega plots the page holds
    console_errors: list[str]
    network_requests: list[str]  # anything but file://, refused
    screenshot: Path


def render(page: Path, screenshot: Path, timeout_ms: int = 60_000) -> Rendered:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).is_file():
        raise AssertionError(f"no Chromium at {CHROMIUM}; scripts/setup.sh --tests installs Debian's chromium")
    errors: list[str] = []
    requests: list[str] = []

    def only_files(route):
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            requests.append(route.request.url)
            route.abort()

    # DVC writes each plot as a <div> holding a script that embeds it (and replaces itself).
    divs = page.read_text().count("vegaEmbed('#")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            context = browser.new_context(offline=True, viewport={"width": 1280, "height": 900})
            context.route("**/*", only_files)
            tab = context.new_page()
            tab.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            tab.on("pageerror", lambda exc: errors.append(str(exc)))
            tab.add_init_script(RECORD_VEGA)
            tab.goto(page.resolve().as_uri(), wait_until="load")
            # On a timeout, what did draw and the errors tell more than the timeout would.
            with contextlib.suppress(PlaywrightTimeout):
                tab.wait_for_function(
                    f"window.__plots.length >= {divs} && window.__plots.every(p => p.marks !== null || p.error)",
                    timeout=timeout_ms,
                )

            plots = {p["id"]: p["error"] or p["marks"] for p in tab.evaluate("window.__plots")}
            pictures = dict(
                tab.evaluate(
                    "Array.from(document.images).map(i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0])"
                )
            )
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            tab.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    return Rendered(plots, pictures, divs, errors, requests, screenshot)
