"""Complete spiking networks that learn inside the simulator (built directly on Brian2 objects)."""
