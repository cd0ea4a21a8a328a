"""Domain model: jobs, panels, plans, state transitions and errors."""
