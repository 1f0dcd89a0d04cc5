"""Charging from the driver app: find a charging point, pay, start, follow, stop, receipt."""

from voltlane.pwa.charge.live import ChargeLiveController
from voltlane.pwa.charge.points import ChargeController

__all__ = ["ChargeController", "ChargeLiveController"]
