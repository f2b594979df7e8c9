"""A local server that behaves like Dr.Gero as its documentation describes it."""

from drgero_client.sandbox.app import SandboxApp
from drgero_client.sandbox.seed import DEMO_TOKENS, DOCUMENTED_LEADERBOARD_ID
from drgero_client.sandbox.server import SandboxServer
from drgero_client.sandbox.state import Fault, SandboxState

__all__ = [
    "DEMO_TOKENS",
    "DOCUMENTED_LEADERBOARD_ID",
    "Fault",
    "SandboxApp",
    "SandboxServer",
    "SandboxState",
]
