"""What the sandbox's pages say, marked for the gettext catalogs (``make messages``) and
translated when a page is shown, in the language the card entry asked for."""

from __future__ import annotations

import gettext
from collections.abc import Callable

from voltlane.core.text import N_

# The catalog of a locale (``de_DE``): the web layer's, handed in by whoever starts the
# sandbox; without one the pages stay in English.
Catalogs = Callable[[str], gettext.NullTranslations]


def english(_locale: str) -> gettext.NullTranslations:
    return gettext.NullTranslations()


BANNER = N_("Sandbox payment page — no real money")
ENTRY_HEADING = N_("Add a card")
ENTRY_INTRO = N_("%(merchant)s stores this card with its payment provider for your charging.")
ERRORS_SUMMARY = N_("Please check the fields marked below.")
NUMBER = N_("Card number")
EXPIRY = N_("Expiry date (MM / YY)")
CVC = N_("Security code (CVC)")
SAVE = N_("Save card")
CANCEL = N_("Cancel")
TEST_CARDS_HEADING = N_("Test cards")
CARD_APPROVED = N_("approved")
CARD_DECLINED = N_("declined")
CARD_CHALLENGE = N_("asks for 3-D Secure")
CARD_DECLINED_LATER = N_("saved, then declined when charged")
TEST_CARDS_HINT = N_("Any future expiry date and any three-digit security code.")

NUMBER_INCOMPLETE = N_("Your card number is incomplete.")
NUMBER_INVALID = N_("Your card number is invalid.")
NUMBER_NOT_TEST = N_("Use one of the test cards listed on this page.")
DECLINED = N_("Your card was declined.")
EXPIRY_INCOMPLETE = N_("Your card's expiry date is incomplete.")
EXPIRY_PAST = N_("Your card's expiry date is in the past.")
EXPIRY_INVALID = N_("Your card's expiry date is invalid.")
CVC_INCOMPLETE = N_("Your card's security code is incomplete.")
AUTHENTICATION_FAILED = N_("Your bank could not confirm the card. Try again or use another card.")

CHALLENGE_HEADING = N_("Confirm with your bank (3-D Secure)")
CHALLENGE_INTRO = N_("In the sandbox you choose what the bank answers.")
CHALLENGE_AMOUNT = N_("Amount: %(amount)s")
COMPLETE = N_("Complete")
FAIL = N_("Fail")
CHALLENGE_DONE = N_("Confirmed. You can go back to the app.")
CHALLENGE_FAILED = N_("Not confirmed. You can go back to the app.")
CHALLENGE_ANSWERED = N_("This payment has been answered already. You can go back to the app.")
EXPIRED = N_("This page has expired. Go back to the app and start again.")
FINISHED = N_("This card has been saved. You can go back to the app.")
NOT_FOUND = N_("There is nothing to pay or confirm at this address.")
