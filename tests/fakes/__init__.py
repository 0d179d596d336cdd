"""Stand-ins that tests run for real: an OpenAI-compatible server on loopback, keyword export files."""
