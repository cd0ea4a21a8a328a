"""Use cases: each takes Services and ids, and talks to the world only through ports."""
