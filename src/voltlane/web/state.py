"""The objects every web request may reach, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import dramatiq

from voltlane.core.db import Database
from voltlane.settings import Settings
from voltlane.station.ports import StationCommands
from voltlane.tenancy import TenantRegistry
from voltlane.tenancy.branding import ThemeCatalog

if TYPE_CHECKING:
    from voltlane.web.templating import Renderer


@dataclass(slots=True)
class WebState:
    settings: Settings
    database: Database
    registry: TenantRegistry
    themes: ThemeCatalog
    renderer: Renderer
    broker: dramatiq.Broker
    commands: StationCommands
