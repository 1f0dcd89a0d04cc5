"""Render each theme's PWA icons from its logo.svg with the Chromium that e2e uses.

    .venv/bin/python themes/render_icons.py

Writes icons/icon-192.png, icons/icon-512.png and icons/icon-maskable-512.png (the logo
inside the 80 % safe zone on the theme's primary colour) next to every theme.toml.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from playwright.sync_api import sync_playwright

THEMES = Path(__file__).parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def page_html(svg: str, size: int, *, maskable: bool, background: str) -> str:
    inner = int(size * 0.8) if maskable else size
    fill = background if maskable else "transparent"
    return (
        "<html><body style='margin:0'>"
        f"<div style='width:{size}px;height:{size}px;display:grid;place-items:center;"
        f"background:{fill}'><div style='width:{inner}px;height:{inner}px'>{svg}</div></div>"
        "</body></html>"
    ).replace("<svg ", "<svg width='100%' height='100%' ")


def main() -> None:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for manifest in sorted(THEMES.glob("*/theme.toml")):
            directory = manifest.parent
            tokens = tomllib.loads(manifest.read_text())["tokens"]
            svg = (directory / "logo.svg").read_text()
            (directory / "icons").mkdir(exist_ok=True)
            for name, size, maskable in (
                ("icon-192.png", 192, False),
                ("icon-512.png", 512, False),
                ("icon-maskable-512.png", 512, True),
            ):
                page = browser.new_page(viewport={"width": size, "height": size})
                html = page_html(svg, size, maskable=maskable, background=tokens["color-primary"])
                page.set_content(html)
                page.screenshot(path=str(directory / "icons" / name), omit_background=not maskable)
                page.close()
        browser.close()


if __name__ == "__main__":
    main()
