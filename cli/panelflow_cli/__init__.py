"""The panelflow command: local stack, job submission, live progress and the reader."""
