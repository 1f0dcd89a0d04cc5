"""The operator and fleet-manager portal of each brand (Jinja2 + HTMX)."""

from pathlib import Path

TEMPLATES = Path(__file__).parent / "templates"
