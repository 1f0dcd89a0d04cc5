"""What each staff role may do in the portal."""

from __future__ import annotations

import enum

from voltlane.models.tenant import Role


class Permission(enum.StrEnum):
    PORTAL = "portal"  # sign in to the brand's portal at all
    STATIONS_READ = "stations.read"
    STATIONS_WRITE = "stations.write"
    FINANCE_READ = "finance.read"
    FINANCE_WRITE = "finance.write"
    DRIVERS_READ = "drivers.read"
    DRIVERS_WRITE = "drivers.write"
    SETTINGS_WRITE = "settings.write"
    USERS_WRITE = "users.write"
    AUDIT_READ = "audit.read"
    # Owners only: other owners, the payment provider account, closing the brand.
    OWNERSHIP = "ownership"
    FLEET_OWN = "fleet.own"  # only the fleet the user manages


_ALL = frozenset(Permission) - {Permission.FLEET_OWN}
_READ = frozenset(
    {
        Permission.PORTAL,
        Permission.STATIONS_READ,
        Permission.FINANCE_READ,
        Permission.DRIVERS_READ,
    }
)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OWNER: _ALL,
    Role.ADMIN: _ALL - {Permission.OWNERSHIP},
    Role.OPERATIONS: _READ | {Permission.STATIONS_WRITE, Permission.DRIVERS_WRITE},
    Role.FINANCE: _READ | {Permission.FINANCE_WRITE},
    Role.SUPPORT: _READ | {Permission.DRIVERS_WRITE},
    Role.READ_ONLY: _READ,
    Role.FLEET_MANAGER: frozenset({Permission.PORTAL, Permission.FLEET_OWN}),
}


def has_permission(role: Role, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[role]
