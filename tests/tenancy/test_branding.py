"""Themes: tokens merge base -> theme -> brand; files are looked up tenant -> theme -> base."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.factories import REPO
from voltlane.models.platform import TenantStatus
from voltlane.tenancy import TenantInfo
from voltlane.tenancy.branding import ThemeCatalog, ThemeError


def brand(slug: str, theme: str, tokens: dict[str, str] | None = None) -> TenantInfo:
    return TenantInfo(
        id=uuid.uuid4(),
        key=slug.replace("-", "")[:32].ljust(4, "x"),
        slug=slug,
        name=slug.title(),
        status=TenantStatus.ACTIVE,
        theme=theme,
        locale="en_GB",
        currency="GBP",
        timezone="Europe/London",
        hosts=(),
        profile={"tokens": tokens or {}, "short_name": slug[:12]},
    )


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path]:
    themes, tenants = tmp_path / "themes", tmp_path / "tenants"
    (themes / "base" / "icons").mkdir(parents=True)
    (themes / "base" / "theme.toml").write_text(
        '[tokens]\ncolor-primary = "#111111"\ncolor-background = "#ffffff"\nradius = "4px"\n'
    )
    (themes / "base" / "logo.svg").write_text("<svg>base</svg>")
    (themes / "base" / "icons" / "icon-192.png").write_bytes(b"base-icon")
    (themes / "sea").mkdir()
    (themes / "sea" / "theme.toml").write_text('[tokens]\ncolor-primary = "#0000aa"\n')
    (themes / "sea" / "logo.svg").write_text("<svg>sea</svg>")
    (tenants / "pier").mkdir(parents=True)
    (tenants / "pier" / "logo.svg").write_text("<svg>pier</svg>")
    return themes, tenants


def test_tokens_merge_base_theme_then_brand(tree: tuple[Path, Path]) -> None:
    catalog = ThemeCatalog(*tree)
    branding = catalog.branding(brand("pier", "sea", {"radius": "9px"}))
    assert branding.tokens == {
        "color-primary": "#0000aa",
        "color-background": "#ffffff",
        "radius": "9px",
    }
    assert branding.css == (
        ":root {\n  --color-background: #ffffff;\n  --color-primary: #0000aa;\n"
        "  --radius: 9px;\n}\n"
    )


def test_files_resolve_tenant_then_theme_then_base(tree: tuple[Path, Path]) -> None:
    catalog = ThemeCatalog(*tree)
    pier = catalog.branding(brand("pier", "sea"))
    dock = catalog.branding(brand("dock", "sea"))
    plain = catalog.branding(brand("plain", "base"))
    assert pier.asset("logo.svg").read_text() == "<svg>pier</svg>"  # type: ignore[union-attr]
    assert dock.asset("logo.svg").read_text() == "<svg>sea</svg>"  # type: ignore[union-attr]
    assert plain.asset("logo.svg").read_text() == "<svg>base</svg>"  # type: ignore[union-attr]
    assert dock.asset("icons/icon-192.png").read_bytes() == b"base-icon"  # type: ignore[union-attr]


@pytest.mark.parametrize("path", ["../sea/logo.svg", "/etc/passwd", ".hidden", "", "icons/../../x"])
def test_assets_never_leave_their_directories(tree: tuple[Path, Path], path: str) -> None:
    assert ThemeCatalog(*tree).branding(brand("pier", "sea")).asset(path) is None


def test_unsafe_tokens_are_refused(tree: tuple[Path, Path]) -> None:
    catalog = ThemeCatalog(*tree)
    with pytest.raises(ThemeError, match="unsafe value"):
        catalog.branding(brand("pier", "sea", {"color-primary": "red;}</style><script>"}))
    with pytest.raises(ThemeError, match="invalid theme name"):
        catalog.theme("../base")


def test_the_shipped_themes_define_every_base_token() -> None:
    catalog = ThemeCatalog(REPO / "themes", REPO / "tenants")
    base = set(catalog.theme("base").tokens)
    assert catalog.names() == ["aurora", "base", "harbour"]
    for name in ("aurora", "harbour"):
        assert set(catalog.theme(name).tokens) == base, name
        for icon in ("icon-192.png", "icon-512.png", "icon-maskable-512.png"):
            assert (REPO / "themes" / name / "icons" / icon).read_bytes()[
                :8
            ] == b"\x89PNG\r\n\x1a\n"
