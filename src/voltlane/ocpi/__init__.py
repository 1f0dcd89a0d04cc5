"""OCPI 2.2.1: each brand as a CPO party that hubs and eMSPs connect to.

Served by the web app on the brand's own host under ``/ocpi`` (``/ocpi/versions``,
``/ocpi/2.2.1/...``); pushes to partners go through the ``ocpi_pushes`` outbox and
``ocpi.*`` jobs. The specification is the public ``ocpi/ocpi`` repository at tag
``v2.2.1-d2``.
"""
