"""bioplaus: biologically plausible learning on Brian2 backends, compared with backpropagation."""
__version__ = "0.1.0"
