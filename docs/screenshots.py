"""The README's dashboard screenshots, rendered on a SYNTHETIC demo snapshot (made-up numbers, labelled so on
the page): screenshots of the recorded real data are derived from restricted data and are not committed.

Builds the demo snapshot with the test suite's builders (tests/synthetic.py: a seeded BTC random walk ending
in a 35 % fall, QQQ/GLD/MSTR, perp open interest, a three-expiry option chain), serves it with
`capitulation dashboard --snapshot`, and saves the overview at 390x844 (phone) and 1440x900 (desktop) to
docs/img/ with headless Chromium.

Run: `.venv/bin/python docs/screenshots.py` (needs /usr/bin/chromium and Playwright).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from capitulation.snapshot import Snapshot  # noqa: E402
from synthetic import SYNTHETIC, daily, option_quotes, perps  # noqa: E402

AS_OF = "2026-02-05T23:59:59Z"
DAYS = 400
SIZES = {"phone": (390, 844), "desktop": (1440, 900)}
OUT = ROOT / "docs" / "img"


def walk(rng: np.random.Generator, start: float, vol: float, fall: float) -> np.ndarray:
    """A daily random walk from `start` whose last 30 days fall by `fall` (fraction)."""
    steps = rng.normal(0.0005, vol, DAYS)
    steps[-30:] += np.log(1 - fall) / 30
    return start * np.exp(np.cumsum(steps))


def chain(spot: float) -> pd.DataFrame:
    """Three expiries of calls and puts around `spot` with a put skew."""
    ts = pd.Timestamp("2026-02-05T12:00Z")
    parts = []
    for days in (7, 30, 90):
        strikes = [round(spot * k, -3) for k in np.linspace(0.7, 1.3, 13)]
        for kind in ("call", "put"):
            iv = [0.55 + 0.25 * max(0.0, 1 - k / spot) + 0.05 * abs(np.log(k / spot)) for k in strikes]
            oi = [400.0 * np.exp(-((((k / spot) - 1) / 0.12) ** 2)) + 20 for k in strikes]
            parts.append(option_quotes(ts, ts + pd.Timedelta(days=days), spot, [kind] * len(strikes), strikes, iv, oi))
    out = pd.concat(parts, ignore_index=True)
    return out.assign(instrument=[f"DEMO-{i}" for i in range(len(out))])  # one name per option


def demo() -> Snapshot:
    """The synthetic demo snapshot (every table's provenance says synthetic)."""
    rng = np.random.default_rng(7)
    btc = walk(rng, 95_000.0, 0.02, 0.35)
    prices = pd.concat(
        [
            daily("BTC-USD", btc),
            daily("QQQ", walk(rng, 480.0, 0.01, 0.05)),
            daily("GLD", walk(rng, 240.0, 0.008, 0.02)),
            daily("MSTR", walk(rng, 300.0, 0.045, 0.45)),
        ],
        ignore_index=True,
    )
    n = DAYS * 3
    price_8h = np.repeat(btc, 3)[-n:]
    oi = 90_000 + np.cumsum(rng.normal(20, 300, n))
    frames = {"daily_prices": prices, "perp_metrics": perps(list(oi), list(price_8h)), "option_quotes": chain(btc[-1])}
    return Snapshot(AS_OF, frames, {k: SYNTHETIC for k in frames})


def main() -> None:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        snap = demo().save(Path(tmp) / "demo")
        cmd = [sys.executable, "-m", "capitulation", "dashboard", "--snapshot", str(snap), "--db", f"{tmp}/db"]
        proc = subprocess.Popen([*cmd, "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}/"
            for _ in range(600):
                try:
                    urllib.request.urlopen(url).read()
                    break
                except OSError:
                    time.sleep(0.2)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox"])
                for name, (w, h) in SIZES.items():
                    page = browser.new_page(viewport={"width": w, "height": h})
                    page.goto(url)
                    page.locator("#page-overview .card").nth(7).wait_for()
                    page.wait_for_timeout(1500)  # charts drawn and resized
                    page.screenshot(path=OUT / f"dashboard-{name}.png")
                    print(f"{OUT / f'dashboard-{name}.png'} ({w}x{h})")
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
