"""Monitoring: the live state of the network, alerts (rules, detection, delivery) and
analytics (availability, utilization, energy, revenue)."""
