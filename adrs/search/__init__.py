"""Search strategies: population summary and parent selection."""
