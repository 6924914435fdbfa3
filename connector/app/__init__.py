"""Workflows that wire the pure core, the carrier links and Redis: intake, dispatch, the daemon."""
