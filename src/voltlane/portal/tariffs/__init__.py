"""The portal's tariff section: list, tariff page, editor, preview, assignments."""

from voltlane.portal.tariffs.controller import TariffPortalController

__all__ = ["TariffPortalController"]
