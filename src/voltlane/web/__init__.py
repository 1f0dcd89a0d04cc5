"""Web infrastructure shared by the portal and the driver app (Litestar + Jinja2 + HTMX)."""
