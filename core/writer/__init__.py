"""The writer: tasks, content, review with revisions, images placed in the article (the writer issue)."""
