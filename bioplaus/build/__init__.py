"""Spec objects -> Brian2 objects. One implementation serves every Brian2 backend."""
from .network import BuiltNetwork, build_network

__all__ = ["BuiltNetwork", "build_network"]
