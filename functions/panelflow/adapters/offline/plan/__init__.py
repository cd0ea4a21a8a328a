"""Text rules of the offline story planner (``panelflow.adapters.offline.planner``)."""
