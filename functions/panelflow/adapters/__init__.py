"""Adapters: each wraps one technology behind a port and translates its errors."""
