"""The planner: keywords, clusters, ideas, the keyword library, import and clustering."""
