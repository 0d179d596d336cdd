"""The AI functions, one module per domain they write to."""
