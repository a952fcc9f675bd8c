"""The agent: cost module, MPC agent, online and offline loops, evaluation, command line."""

from agent.mpc import MPCAgent

__all__ = ["MPCAgent"]
