"""Drivers of a brand's app: sign-up, e-mail verification, sign-in and sessions, password
reset, OpenID Connect sign-in, profile and account deletion."""
