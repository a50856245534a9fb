"""Sub-commands of the ``bioplaus`` CLI, one module each (see :mod:`bioplaus.cli`)."""
