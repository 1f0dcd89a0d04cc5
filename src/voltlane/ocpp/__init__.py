"""The OCPP gateway: chargers of every brand on OCPP 1.6J, 2.0.1 and 2.1 over WebSockets."""
