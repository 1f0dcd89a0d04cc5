"""Charging: IdToken authorization, charging sessions from every OCPP version, meter samples."""
