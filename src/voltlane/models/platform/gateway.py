"""Which OCPP gateway node holds which station right now."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from voltlane.core.orm import PlatformBase


class GatewayNode(PlatformBase):
    """A running `voltlane ocpp` process; a stale heartbeat means its stations are offline."""

    __tablename__ = "gateway_nodes"

    node_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(255), nullable=False)
    started_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    heartbeat_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class StationPresence(PlatformBase):
    """A connected station: brand key + station id -> the node that holds its socket."""

    __tablename__ = "station_presence"
    __table_args__ = (Index("ix_station_presence_node", "node_id"),)

    tenant_key: Mapped[str] = mapped_column(String(32), primary_key=True)
    station_id: Mapped[str] = mapped_column(String(48), primary_key=True)
    node_id: Mapped[str] = mapped_column(String(64), nullable=False)
    protocol: Mapped[str] = mapped_column(String(16), nullable=False)
    connected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    # Connection id: a reconnect replaces the row; an old socket's late cleanup must not
    # delete the new one.
    connection_id: Mapped[str] = mapped_column(String(36), nullable=False)
