"""The driver app's static files under content-hashed URLs: one stylesheet built from every
part's CSS, the app's scripts and htmx.

Every engineer of the app writes their styles in ``static/css/<part>.css``; pages link one
stylesheet, ``app.css`` first (the others build on its rules) and the rest in name order.
Everything is read, hashed and gzipped once per process, so a page costs no file I/O and a
deploy that changes any byte changes the URL, which browsers may then keep for a year.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from voltlane.web.templating import STATIC_DIR as WEB_STATIC_DIR

STATIC_DIR = Path(__file__).parent / "static"
CSS_DIR = STATIC_DIR / "css"
JS_DIR = STATIC_DIR / "js"
BASE_STYLESHEET = "app.css"
URL_PREFIX = "/assets/"
# The vendored htmx of the web package, served here too so the app gets it compressed.
VENDOR = {"htmx.min.js": WEB_STATIC_DIR / "htmx.min.js"}

_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Asset:
    """One served file: its bytes as sent, gzipped, and the hash in its URL."""

    name: str
    body: bytes
    gzipped: bytes
    media_type: str
    version: str

    @property
    def url(self) -> str:
        return f"{URL_PREFIX}{self.name}?v={self.version}"


def _minify_css(text: str) -> str:
    # Comments and indentation are for the people editing the parts, not for phones.
    lines = (line.strip() for line in _COMMENT.sub("", text).splitlines())
    return "\n".join(line for line in lines if line) + "\n"


def stylesheet_parts(css_dir: Path = CSS_DIR) -> list[Path]:
    """The parts of the app stylesheet in the order they are joined."""
    parts = sorted(css_dir.glob("*.css"), key=lambda p: (p.name != BASE_STYLESHEET, p.name))
    return [p for p in parts if p.is_file()]


def _asset(name: str, body: bytes, media_type: str) -> Asset:
    return Asset(
        name=name,
        body=body,
        # mtime=0: the same bytes give the same gzip stream in every process.
        gzipped=gzip.compress(body, compresslevel=9, mtime=0),
        media_type=media_type,
        version=hashlib.sha256(body).hexdigest()[:12],
    )


class AppAssets:
    """The app's assets, built on first use and then kept for the life of the process."""

    def __init__(
        self,
        css_dir: Path = CSS_DIR,
        js_dir: Path = JS_DIR,
        vendor: dict[str, Path] | None = None,
    ) -> None:
        self.css_dir = css_dir
        self.js_dir = js_dir
        self.vendor = VENDOR if vendor is None else vendor
        self._built: dict[str, Asset] | None = None
        self._lock = threading.Lock()

    def _build(self) -> dict[str, Asset]:
        parts = stylesheet_parts(self.css_dir)
        css = "".join(
            f"/* {p.name} */\n" + _minify_css(p.read_text(encoding="utf-8")) for p in parts
        )
        assets = {"app.css": _asset("app.css", css.encode(), "text/css")}
        scripts = sorted(self.js_dir.glob("*.js")) if self.js_dir.is_dir() else []
        for path in scripts:
            name = f"js/{path.name}"
            assets[name] = _asset(name, path.read_bytes(), "text/javascript")
        for name, path in self.vendor.items():
            assets[name] = _asset(name, path.read_bytes(), "text/javascript")
        return assets

    @property
    def assets(self) -> dict[str, Asset]:
        built = self._built
        if built is None:
            with self._lock:
                if self._built is None:
                    self._built = self._build()
                built = self._built
        return built

    def get(self, name: str) -> Asset | None:
        return self.assets.get(name)

    def url(self, name: str) -> str:
        """The hashed URL of ``name`` (``app.css``, ``js/push.js``, ``htmx.min.js``)."""
        asset = self.assets.get(name)
        if asset is None:
            raise LookupError(f"the driver app has no asset {name!r}")
        return asset.url

    def urls(self) -> list[str]:
        """Every asset's hashed URL, in name order (what the service worker precaches)."""
        return [self.assets[name].url for name in sorted(self.assets)]

    @property
    def version(self) -> str:
        """One hash over every asset: changes whenever any of them does."""
        digest = hashlib.sha256()
        for name in sorted(self.assets):
            digest.update(f"{name}={self.assets[name].version};".encode())
        return digest.hexdigest()[:16]


APP_ASSETS = AppAssets()
