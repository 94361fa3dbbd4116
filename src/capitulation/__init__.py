"""capitulation."""
