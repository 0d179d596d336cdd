"""The AI engine: one provider adapter (client), typed AI functions, and the engine that meters them in credits.

Pages, the CLI and the scheduler call `core.ai.engine`; nothing else talks to an AI provider.
"""
