"""The only package that imports redis: consumer groups, scripts, batched writes."""
