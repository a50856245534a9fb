"""Registered experiments (what ``bioplaus run models/<name>.toml`` executes)."""
from .base import EXPERIMENTS, Experiment, ExperimentParams, ExperimentResult, RunContext, experiment_class, register_experiment

__all__ = ["EXPERIMENTS", "Experiment", "ExperimentParams", "ExperimentResult", "RunContext", "experiment_class",
           "register_experiment"]
