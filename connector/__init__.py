"""smpp-connector: the carrier-facing SMPP 3.4 dispatch core behind the Lisoloo SMS API."""

__version__ = "0.1.0"
