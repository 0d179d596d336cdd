"""Shared helpers of every domain: text, vault, uow, paging, retry, claim."""
