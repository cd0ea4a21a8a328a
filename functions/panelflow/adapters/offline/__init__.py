"""Offline adapters: a rule-based planner, a Pillow renderer and local voices, no credentials."""
