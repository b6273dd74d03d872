"""Health check runners: one small module per check kind, one scheduler that runs them all."""
