"""Stations: locations, charging stations, EVSEs and connectors of a brand."""
