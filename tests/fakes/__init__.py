"""In-memory fakes of the ports; held to the adapters' behaviour by tests/contract."""

from fakes.providers import CountingImageGenerator, CountingPlanner, CountingVoice
from fakes.stores import InMemoryBlobStore, InMemoryJobStore, RecordingQueue

__all__ = [
    "CountingImageGenerator",
    "CountingPlanner",
    "CountingVoice",
    "InMemoryBlobStore",
    "InMemoryJobStore",
    "RecordingQueue",
]
