"""Screenshots of the report's pages in Debian's headless Chromium, driven by Playwright.

- A server of the app's own (dashboard.reports.server) on a free loopback port, same database.
- Logged in through the real /login form as the report account `gcc-report` (district-wide
  dispatcher scope): enabled with a fresh random password for the run, disabled again after it,
  so the account is never usable between runs and its password is never stored.
- Each page is captured when window.gccReady() (dashboard/assets/gcc_ready.js) says ready twice
  in a row — never after a fixed sleep; then the PNG is checked (size, not uniform, the map's box
  not empty). A bad capture is retried once, then the run fails with the reason.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from data import users
from data.db import Database
from data.reports.errors import NotInstalled, ReportError
from data.settings import Settings

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "gcc-report"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
INSTALL = "apt-get install -y chromium fonts-noto-cjk"
READY = "() => window.gccReady ? window.gccReady() : {ready: false, pending: ['gcc_ready.js not loaded']}"
BOX = """(selector) => {
  const el = document.querySelector(selector + ' .maplibregl-canvas') || document.querySelector(selector);
  if (!el) { return null; }
  const r = el.getBoundingClientRect();
  return [r.left, r.top, r.width, r.height];
}"""


@dataclass(frozen=True)
class Target:
    file: str  # screen.png
    path: str  # /screen?week=2026-W47
    map_selector: str  # the map whose box must not be empty
    caption: str


@dataclass
class Shot:
    target: Target
    path: Path
    width: int
    height: int
    bytes: int
    checks: dict = field(default_factory=dict)
    attempts: int = 1
    seconds: float = 0.0


def find_chromium(settings: Settings) -> str:
    """The Chromium to drive, or NotInstalled saying what to install."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        raise NotInstalled(
            "周报需要 Playwright 与 Chromium / the report needs Playwright and Chromium: "
            f"pip install playwright && {INSTALL}"
        ) from None
    path = str(settings.gcc_report_chromium)
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise NotInstalled(
            f"周报需要 Chromium / the report needs Chromium at {path}: {INSTALL} (or set GCC_REPORT_CHROMIUM)"
        )
    if not chinese_fonts():
        raise NotInstalled(f"周报需要中文字体 / the report needs a Chinese font (no tofu boxes): {INSTALL}")
    return path


def chinese_fonts() -> bool:
    """Is a font with Chinese glyphs installed (fontconfig)? True when fc-list is not there to ask."""
    import shutil

    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return True
    try:
        out = subprocess.run([fc_list, ":lang=zh", "family"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return True
    return bool(out.strip())


# ----------------------------------------------------------------------------------------------
# The report account.


def enable_account(db: Database) -> str:
    """Create or re-enable `gcc-report` with a new random password; returns the password."""
    password = secrets.token_urlsafe(24)
    with db.session() as s:
        try:
            users.find_user(s, ACCOUNT)
        except users.UserError:
            users.create_user(s, ACCOUNT, password, "dispatcher", display_name="周报服务账户")
            return password
        users.set_password(s, ACCOUNT, password)
        users.set_active(s, ACCOUNT, True)
    return password


def disable_account(db: Database) -> None:
    with contextlib.suppress(Exception), db.session() as s:
        users.set_active(s, ACCOUNT, False)


# ----------------------------------------------------------------------------------------------
# The app server the browser reads from.


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def app_server(settings: Settings, log_path: Path, *, timeout: float = 90):
    """Run dashboard.reports.server on a free port; yields its base URL."""
    port = _free_port()
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": settings.resolved_database_url,
            "GCC_INSTANCE_DIR": str(settings.gcc_instance_dir),
            "GCC_TIMEZONE": settings.gcc_timezone,
            "GCC_LOCALE": settings.gcc_locale,
            "GCC_DISTRICT_NAME": settings.gcc_district_name,
            "GCC_SCHEDULER": "false",
            "GCC_SIMULATE": "false",
        }
    )
    if settings.gcc_secret_key:
        env["GCC_SECRET_KEY"] = settings.gcc_secret_key
    base = f"http://127.0.0.1:{port}"
    with open(log_path, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "dashboard.reports.server", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise ReportError(f"the report's web server exited ({proc.returncode}): {_tail(log_path)}")
            try:
                with urllib.request.urlopen(base + "/login", timeout=3) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise ReportError(f"the report's web server did not start within {timeout:g} s: {_tail(log_path)}")
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def _tail(path: Path, n: int = 600) -> str:
    try:
        return " ".join(path.read_text(errors="replace")[-n:].split())
    except OSError:
        return ""


# ----------------------------------------------------------------------------------------------
# Capturing.


def wait_ready(page, timeout: float) -> dict:
    """Poll window.gccReady() until it is ready three times in a row (0.3 s apart: a map's fit
    or a late callback starting in between resets the count); ReportError with
    what was still pending when `timeout` passes."""
    deadline = time.monotonic() + timeout
    streak, state = 0, {"pending": ["not checked"]}
    while True:
        try:
            state = page.evaluate(READY)
        except Exception as exc:  # noqa: BLE001 - a navigation in between: check again
            state = {"ready": False, "pending": [f"evaluate failed: {exc}"[:200]]}
        streak = streak + 1 if state.get("ready") else 0
        if streak >= 3:
            return state
        if time.monotonic() > deadline:
            raise ReportError(f"page not ready after {timeout:g} s: {'; '.join(state.get('pending', []))[:400]}")
        time.sleep(0.3)


def check_png(path: Path, *, size: tuple[int, int], map_box: list[float] | None, scale: float) -> dict:
    """Measures of a screenshot; ReportError naming the first problem (wrong size, a uniform
    picture, an empty map box)."""
    import numpy as np
    from PIL import Image

    with Image.open(path) as im:
        rgb = np.asarray(im.convert("RGB"), dtype=np.int32)
    h, w = rgb.shape[:2]
    if (w, h) != size:
        raise ReportError(f"{path.name}: {w}x{h} pixels, expected {size[0]}x{size[1]}")
    gray = rgb.mean(axis=2)
    small = rgb[::8, ::8].reshape(-1, 3)
    colours = len(np.unique(small[:, 0] * 65536 + small[:, 1] * 256 + small[:, 2]))
    checks = {"std": round(float(gray.std()), 2), "colours": colours}
    if checks["std"] < 6 or colours < 20:
        raise ReportError(f"{path.name}: the picture is (nearly) uniform (std {checks['std']}, {colours} colours)")
    if map_box is None:
        raise ReportError(f"{path.name}: no map on the page")
    x, y, bw, bh = (round(v * scale) for v in map_box)
    crop = rgb[max(y, 0) : y + bh, max(x, 0) : x + bw]
    if crop.size == 0 or bw < 50 or bh < 50:
        raise ReportError(f"{path.name}: the map's box is empty or tiny ({map_box})")
    flat = crop.reshape(-1, 3)
    values, counts = np.unique(flat[::7, 0] * 65536 + flat[::7, 1] * 256 + flat[::7, 2], return_counts=True)
    mode = values[counts.argmax()]
    mode_rgb = np.array([mode // 65536, (mode // 256) % 256, mode % 256])
    differing = float((np.abs(flat - mode_rgb).sum(axis=1) > 24).mean())
    checks.update(map_std=round(float(crop.mean(axis=2).std()), 2), map_drawn=round(differing, 4))
    if checks["map_std"] < 4 or differing < 0.03:
        raise ReportError(
            f"{path.name}: the map area looks empty (std {checks['map_std']}, {differing:.1%} of pixels drawn)"
        )
    return checks


def refusal(page) -> str | None:
    """The page's refusal or error panel (no permission, bad week...), if it shows one."""
    for selector in (".page-refused", ".page-error"):
        if page.locator(selector).count():
            return page.inner_text(selector)[:200].replace("\n", " ")
    return None


def take(page, base: str, target: Target, out: Path, *, scale: float, timeout: float) -> Shot:
    t0 = time.monotonic()
    response = page.goto(base + target.path, wait_until="load")
    if response is not None and response.status >= 400:  # e.g. a week the page cannot show (400)
        text = " ".join(page.inner_text("body")[:200].split())
        raise ReportError(f"{target.path}: HTTP {response.status}: {text}")
    wait_ready(page, timeout)
    problem = refusal(page)
    if problem:
        raise ReportError(f"{target.path}: the page refused or failed: {problem}")
    box = page.evaluate(BOX, target.map_selector)
    page.screenshot(path=str(out))
    size = (int(1920 * scale), int(1080 * scale))
    checks = check_png(out, size=size, map_box=box, scale=scale)
    return Shot(target, out, size[0], size[1], out.stat().st_size, checks, seconds=round(time.monotonic() - t0, 2))


def take_checked(page, base: str, target: Target, out: Path, *, scale: float, timeout: float) -> Shot:
    """`take`, retried once; the second failure is raised with both reasons."""
    try:
        return take(page, base, target, out, scale=scale, timeout=timeout)
    except ReportError as first:
        log.warning("capture of %s failed, retrying once: %s", target.path, first)
        try:
            shot = take(page, base, target, out, scale=scale, timeout=timeout)
        except ReportError as second:
            raise ReportError(f"capture of {target.path} failed twice: {second} (first: {first})") from None
        shot.attempts = 2
        return shot


def login(page, base: str, password: str) -> None:
    page.goto(f"{base}/login?next=/healthz")
    page.fill("#username", ACCOUNT)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("button[type=submit]")
    if "/login" in page.url:
        raise ReportError(f"the report account could not log in: {page.inner_text('body')[:200]}")


def capture(
    settings: Settings, db: Database, targets: list[Target], out_dir: Path, *, scale: float = 1, progress=None
) -> list[Shot]:
    """Capture every target into out_dir (one browser, one login). Serialised across processes
    (a file lock in the instance folder): the report account has one password at a time."""
    from filelock import FileLock
    from playwright.sync_api import sync_playwright

    chromium = find_chromium(settings)
    locks = Path(settings.gcc_instance_dir) / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    say = progress or (lambda _m: None)
    with FileLock(str(locks / "report-capture.lock"), timeout=settings.gcc_report_timeout_seconds):
        password = enable_account(db)
        try:
            with app_server(settings, out_dir / "server.log") as base, sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
                try:
                    context = browser.new_context(
                        viewport={"width": 1920, "height": 1080},
                        device_scale_factor=scale,
                        locale="zh-CN",
                        timezone_id=settings.gcc_timezone,
                    )
                    page = context.new_page()
                    login(page, base, password)
                    shots = []
                    for i, target in enumerate(targets, 1):
                        say(f"截图 {i}/{len(targets)}: {target.path}")
                        shots.append(
                            take_checked(
                                page,
                                base,
                                target,
                                out_dir / target.file,
                                scale=scale,
                                timeout=settings.gcc_report_ready_seconds,
                            )
                        )
                    context.close()
                    return shots
                finally:
                    browser.close()
        finally:
            disable_account(db)
            with contextlib.suppress(OSError):
                (out_dir / "server.log").unlink()
