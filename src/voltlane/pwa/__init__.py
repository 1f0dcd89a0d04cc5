"""The driver PWA of each brand."""

from pathlib import Path

TEMPLATES = Path(__file__).parent / "templates"
