"""Decoding of HTTP requests and CloudEvents, and mapping of errors to responses."""
