"""Every route handler of the driver app, registered by ``voltlane.app``."""

from __future__ import annotations

from typing import Any

from voltlane.pwa.account import ACCOUNT_CONTROLLERS
from voltlane.pwa.api import StationSearchController
from voltlane.pwa.charge import ChargeController, ChargeLiveController
from voltlane.pwa.finder_station import StationPageController
from voltlane.pwa.home import DriverHomeController
from voltlane.pwa.push_api import ChargePushController, PushSubscriptionController
from voltlane.pwa.shell import AppShellController
from voltlane.pwa.wallet import (
    LoyaltyController,
    PaymentMethodsController,
    SubscriptionController,
    WalletController,
)

PWA_HANDLERS: list[Any] = [
    DriverHomeController,
    StationSearchController,
    StationPageController,
    AppShellController,
    PushSubscriptionController,
    ChargePushController,
    PaymentMethodsController,
    SubscriptionController,
    WalletController,
    LoyaltyController,
    ChargeController,
    ChargeLiveController,
    *ACCOUNT_CONTROLLERS,
]
