"""Which SMTP server and sender a brand's e-mails leave through."""

from __future__ import annotations

import msgspec
import pytest

from voltlane.core.mail import SmtpServer
from voltlane.identity.notifications import brand_mailer
from voltlane.tenancy.spec import MailSettings

LEGAL = {"legal": {"email": "rechnung@voltaria.example"}}
PLATFORM = "smtp+starttls://relay.example:2525"


def mailer(profile: dict[str, object], environ: dict[str, str], platform: str | None = PLATFORM):
    return brand_mailer(
        "Voltaria Laden",
        "voltaria",
        profile,
        platform_smtp_url=platform,
        base_domain="localhost",
        environ=environ,
    )


def test_a_brand_without_mail_settings_sends_through_the_platform_from_its_billing_address():
    chosen = mailer(LEGAL, {})
    assert chosen.server == SmtpServer("smtp+starttls", "relay.example", 2525, None, None)
    assert (chosen.sender_name, chosen.sender) == ("Voltaria Laden", "rechnung@voltaria.example")
    assert mailer({}, {}).sender == "noreply@voltaria.localhost"


def test_a_brand_naming_its_own_server_sends_through_it_from_its_sender():
    profile = {**LEGAL, "mail": {"sender": "laden@voltaria.example", "smtp_env": "VOLTARIA_SMTP"}}
    chosen = mailer(profile, {"VOLTARIA_SMTP": "smtps://laden:s3cret@mail.voltaria.example"})
    assert chosen.server == SmtpServer("smtps", "mail.voltaria.example", 465, "laden", "s3cret")
    assert chosen.sender == "laden@voltaria.example"


def test_a_brand_whose_server_variable_is_unset_waits_instead_of_using_the_platforms():
    chosen = mailer({"mail": {"smtp_env": "VOLTARIA_SMTP"}}, {})
    assert chosen.server is None
    assert chosen.unsent_reason == "VOLTARIA_SMTP is not set"
    without_platform = mailer(LEGAL, {}, platform=None)
    assert without_platform.server is None
    assert without_platform.unsent_reason == "no SMTP server configured (VOLTLANE_SMTP_URL)"


def test_the_tenant_file_names_a_variable_never_the_url():
    assert msgspec.convert({"smtp_env": "VOLTARIA_SMTP"}, MailSettings).smtp_env == "VOLTARIA_SMTP"
    with pytest.raises(msgspec.ValidationError, match=r"at `\$.smtp_env`"):
        msgspec.convert({"smtp_env": "smtps://user:pw@host"}, MailSettings)
