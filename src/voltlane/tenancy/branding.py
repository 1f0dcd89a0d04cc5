"""Themes and brand overrides: design tokens, logo, icons and template directories.

Lookup order is tenant -> theme -> base: ``tenants/<slug>/`` overrides
``themes/<theme>/`` which overrides ``themes/base/``.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from voltlane.tenancy.schemas import TenantInfo

BASE_THEME = "base"
TOKEN_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,63}$")
# Token values end up inside a <style> block: no characters that could close it.
TOKEN_VALUE_RE = re.compile(r"^[#%(),.\-/\w\s'\"]{1,200}$")


class ThemeError(ValueError):
    """A theme directory or token is malformed."""


@dataclass(frozen=True, slots=True)
class Theme:
    name: str
    label: str
    directory: Path
    tokens: dict[str, str]


def _check_tokens(tokens: dict[str, object], where: str) -> dict[str, str]:
    checked: dict[str, str] = {}
    for name, value in tokens.items():
        if not TOKEN_NAME_RE.fullmatch(name):
            raise ThemeError(f"{where}: token name {name!r} is not kebab-case")
        if not isinstance(value, str) or not TOKEN_VALUE_RE.fullmatch(value):
            raise ThemeError(f"{where}: token {name} has an unsafe value {value!r}")
        checked[name] = value
    return checked


@dataclass(frozen=True, slots=True)
class Branding:
    """Everything the web layer needs to dress a page in one brand's colours."""

    slug: str
    name: str
    short_name: str
    theme: str
    locale: str
    tokens: dict[str, str]
    asset_dirs: tuple[Path, ...]
    template_dirs: tuple[Path, ...]
    # A logo uploaded in the portal (checked SVG); it wins over the logo files.
    logo_svg: str | None = None

    def asset(self, relative: str) -> Path | None:
        """The first ``relative`` file along tenant -> theme -> base; None if absent or
        if the path tries to leave its directory."""
        parts = Path(relative).parts
        if not parts or any(p in {"..", ""} or p.startswith(".") for p in parts):
            return None
        for directory in self.asset_dirs:
            candidate = (directory / relative).resolve()
            if candidate.is_file() and candidate.is_relative_to(directory.resolve()):
                return candidate
        return None

    @property
    def theme_color(self) -> str:
        return self.tokens.get("color-primary", "#1f6feb")

    @property
    def background_color(self) -> str:
        return self.tokens.get("color-background", "#ffffff")

    @property
    def css(self) -> str:
        """The tokens as CSS custom properties on ``:root``."""
        lines = [f"  --{name}: {value};" for name, value in sorted(self.tokens.items())]
        return ":root {\n" + "\n".join(lines) + "\n}\n"


class ThemeCatalog:
    """Loads themes once; builds a :class:`Branding` per brand on demand."""

    def __init__(self, themes_dir: Path, tenants_dir: Path) -> None:
        self.themes_dir = themes_dir
        self.tenants_dir = tenants_dir
        self._themes: dict[str, Theme] = {}
        self._brandings: dict[tuple[str, ...], Branding] = {}

    def theme(self, name: str) -> Theme:
        cached = self._themes.get(name)
        if cached is not None:
            return cached
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", name):
            raise ThemeError(f"invalid theme name {name!r}")
        directory = self.themes_dir / name
        manifest = directory / "theme.toml"
        if not manifest.is_file():
            raise ThemeError(f"theme {name!r} has no theme.toml in {directory}")
        raw = tomllib.loads(manifest.read_text(encoding="utf-8"))
        tokens = _check_tokens(raw.get("tokens", {}), f"theme {name}")
        theme = Theme(
            name=name, label=str(raw.get("label", name)), directory=directory, tokens=tokens
        )
        self._themes[name] = theme
        return theme

    def names(self) -> list[str]:
        return sorted(p.name for p in self.themes_dir.iterdir() if (p / "theme.toml").is_file())

    def branding(self, tenant: TenantInfo) -> Branding:
        """The brand's branding, cached until its theme, tokens or name change."""
        overrides = tenant.profile.get("tokens") or {}
        logo = tenant.profile.get("logo_svg")
        cache_key = (
            tenant.slug,
            tenant.theme,
            tenant.name,
            tenant.short_name,
            json.dumps(overrides, sort_keys=True),
            hashlib.sha256(logo.encode()).hexdigest() if isinstance(logo, str) else "",
        )
        cached = self._brandings.get(cache_key)
        if cached is None:
            cached = self._build(tenant, overrides)
            self._brandings[cache_key] = cached
        return cached

    def _build(self, tenant: TenantInfo, overrides: dict[str, object]) -> Branding:
        base = self.theme(BASE_THEME)
        theme = self.theme(tenant.theme)
        tokens = {
            **base.tokens,
            **theme.tokens,
            **_check_tokens(dict(overrides), f"brand {tenant.slug}"),
        }
        tenant_dir = self.tenants_dir / tenant.slug
        dirs: list[Path] = [tenant_dir] if tenant_dir.is_dir() else []
        dirs += [theme.directory] if theme.name != BASE_THEME else []
        dirs.append(base.directory)
        return Branding(
            slug=tenant.slug,
            name=tenant.name,
            short_name=tenant.short_name,
            theme=theme.name,
            locale=tenant.locale,
            tokens=tokens,
            asset_dirs=tuple(dirs),
            template_dirs=tuple(d / "templates" for d in dirs if (d / "templates").is_dir()),
            logo_svg=logo if isinstance(logo := tenant.profile.get("logo_svg"), str) else None,
        )
