"""The stations section of the portal: list and search, a station's page with its live
connectors, its OCPP message log and remote commands, approval of auto-commissioned
stations and the onboarding wizard.

Reading needs ``stations.read``; every POST needs ``stations.write`` on the route itself.
"""

from litestar import Router
from litestar.di import Provide

from voltlane.portal.stations.log import StationLogController
from voltlane.portal.stations.network import StationsController
from voltlane.portal.stations.onboarding import OnboardingController
from voltlane.web.auth import provide_staff

stations_router = Router(
    path="/portal/stations",
    route_handlers=[StationsController, StationLogController, OnboardingController],
    dependencies={"staff": Provide(provide_staff)},
    include_in_schema=False,
)

__all__ = ["stations_router"]
