"""Finance in the operator portal: documents, payments, dunning, outstanding settlements,
invoice runs, customer e-mails and subscription plans, each a tab under ``/portal/finance``.

The pages call the services the operator API calls (``billing.invoicing``,
``billing.payments``, ``billing.dunning``, ``billing.settlement``,
``identity.notifications``). Reading needs ``finance.read``; crediting, refunding, retrying,
invoicing and resending need ``finance.write``, checked on each POST.
"""

from __future__ import annotations

from litestar import Router, get
from litestar.di import NamedDependency, Provide
from litestar.response import Redirect

from voltlane.identity.roles import Permission
from voltlane.identity.schemas import StaffIdentity
from voltlane.portal.finance.documents import DocumentController
from voltlane.portal.finance.outstanding import OutstandingController
from voltlane.portal.finance.payments import DunningController, PaymentController
from voltlane.portal.finance.plans import PlanController
from voltlane.portal.finance.runs import EmailController, InvoiceRunController
from voltlane.web.auth import provide_staff, requires


@get(
    "/",
    dependencies={"reader": Provide(requires(Permission.FINANCE_READ))},
    include_in_schema=False,
)
async def finance_home(reader: NamedDependency[StaffIdentity]) -> Redirect:
    """The first tab."""
    return Redirect("/portal/finance/documents", status_code=303)


finance_router = Router(
    path="/portal/finance",
    route_handlers=[
        finance_home,
        DocumentController,
        PaymentController,
        DunningController,
        OutstandingController,
        InvoiceRunController,
        EmailController,
        PlanController,
    ],
    dependencies={"staff": Provide(provide_staff)},
)

__all__ = ["finance_router"]
