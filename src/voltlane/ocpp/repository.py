"""Queries of the gateway: nodes, station presence and command claims."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.clock import utcnow
from voltlane.models.platform import GatewayNode, StationPresence
from voltlane.models.tenant import CommandStatus, StationCommand


class GatewayRepository:
    def __init__(self, db_session: AsyncSession) -> None:
        self.db_session = db_session

    async def register_node(self, node_id: str, hostname: str) -> None:
        await self.db_session.execute(
            insert(GatewayNode)
            .values(node_id=node_id, hostname=hostname)
            .on_conflict_do_update(
                index_elements=[GatewayNode.node_id],
                set_={"heartbeat_at": utcnow(), "hostname": hostname},
            )
        )

    async def beat(self, node_id: str) -> None:
        await self.db_session.execute(
            update(GatewayNode).where(GatewayNode.node_id == node_id).values(heartbeat_at=utcnow())
        )

    async def drop_node(self, node_id: str) -> None:
        await self.db_session.execute(
            delete(StationPresence).where(StationPresence.node_id == node_id)
        )
        await self.db_session.execute(delete(GatewayNode).where(GatewayNode.node_id == node_id))

    async def claim_presence(
        self,
        *,
        tenant_key: str,
        station_id: str,
        node_id: str,
        connection_id: str,
        protocol: str,
        connected_at: datetime,
    ) -> str | None:
        """Record this connection as the station's; returns the node that held it before."""
        previous = await self.db_session.scalar(
            select(StationPresence.node_id)
            .where(
                StationPresence.tenant_key == tenant_key, StationPresence.station_id == station_id
            )
            .with_for_update()
        )
        values = {
            "node_id": node_id,
            "connection_id": connection_id,
            "protocol": protocol,
            "connected_at": connected_at,
        }
        await self.db_session.execute(
            insert(StationPresence)
            .values(tenant_key=tenant_key, station_id=station_id, **values)
            .on_conflict_do_update(
                index_elements=[StationPresence.tenant_key, StationPresence.station_id],
                set_=values,
            )
        )
        return previous

    async def release_presence(self, tenant_key: str, station_id: str, connection_id: str) -> None:
        """Forget the station's presence unless a newer connection already replaced it."""
        await self.db_session.execute(
            delete(StationPresence).where(
                StationPresence.tenant_key == tenant_key,
                StationPresence.station_id == station_id,
                StationPresence.connection_id == connection_id,
            )
        )

    async def claim_command(self, command_id: uuid.UUID, node_id: str) -> StationCommand | None:
        """Take a pending command before its deadline; None when it is gone or late."""
        now = utcnow()
        return await self.db_session.scalar(
            update(StationCommand)
            .where(
                StationCommand.id == command_id,
                StationCommand.status == CommandStatus.PENDING,
                StationCommand.deadline_at > now,
            )
            .values(status=CommandStatus.SENT, sent_at=now, node_id=node_id)
            .returning(StationCommand)
        )

    async def finish_command(
        self,
        command_id: uuid.UUID,
        status: CommandStatus,
        *,
        response: dict[str, Any] | None,
        error: str | None,
    ) -> None:
        await self.db_session.execute(
            update(StationCommand)
            .where(StationCommand.id == command_id, StationCommand.status == CommandStatus.SENT)
            .values(status=status, response=response, error=error, completed_at=utcnow())
        )
