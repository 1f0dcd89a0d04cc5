"""The code printed on a charging point, by which a driver names it in the app.

The canonical code of an EVSE is its eMI3 EVSE id written without the ``*`` separators, in
capitals (``DE*VLT*E0001*1`` -> ``DEVLTE00011``); an EVSE without an eMI3 id is named by its
station id and EVSE number (``VLT-SIM-16`` EVSE 1 -> ``VLT-SIM-16-1``). The charger's QR code
holds the absolute URL ``https://<brand host>/charge/<code>``, so a phone's own camera app
opens the app at the right charging point.

What a driver types is read generously: any case, with or without ``*`` and spaces, and for
an eMI3 id also its short form without country and operator (``E0001*1``).
"""

from __future__ import annotations

import re
from urllib.parse import quote

CHARGE_PATH = "/charge"
MAX_CODE = 64
# What may remain of a code once read: the characters of eMI3 ids and of station ids.
_CODE_RE = re.compile(r"^[A-Z0-9_.:+|@-]{1,64}$")
# An eMI3 EVSE id without separators: country, operator, then "E" and the EVSE's own part.
SHORT_FORM_RE = re.compile(r"^[A-Z]{2}[A-Z0-9]{3}(E[A-Z0-9]+)$")


def read_code(text: str) -> str | None:
    """``text`` as a code to look up (capitals, no ``*`` or spaces), or None when it cannot
    be the code of any charging point."""
    compact = "".join(text.split()).replace("*", "").upper()
    return compact if _CODE_RE.fullmatch(compact) else None


def evse_code(emi3_id: str | None, station_id: str, evse_id: int) -> str:
    """The canonical printed code of an EVSE."""
    if emi3_id:
        return "".join(emi3_id.split()).replace("*", "").upper()
    return f"{station_id.replace('*', '').upper()}-{evse_id}"


def charge_path(code: str) -> str:
    """The app's page of the charging point ``code`` (its "Charge here" link)."""
    return f"{CHARGE_PATH}/{quote(code, safe='')}"


def charge_url(base_url: str, code: str) -> str:
    """The absolute URL a charger's QR code holds (``base_url``: the brand's public address,
    e.g. ``https://laden.voltaria.example``)."""
    return base_url.rstrip("/") + charge_path(code)
