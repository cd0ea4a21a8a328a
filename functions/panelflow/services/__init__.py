"""Use cases: each takes the ports it needs (a Protocol of ``panelflow.ports``) and ids,
and talks to the world only through those ports; none imports the composition root."""
