"""Voltlane: multi-tenant back office for EV charge point operators."""
