"""The Drivers section of the portal: driver accounts, IdTokens, customer groups."""

from voltlane.portal.drivers.controller import DriversController

__all__ = ["DriversController"]
