"""Pillow drawing for the offline image generator (``panelflow.adapters.offline.renderer``)."""
