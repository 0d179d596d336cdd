"""The AI functions by name, with their typed inputs: what the engine, the CLI and the scheduler can run."""
from __future__ import annotations

from core.ai.base import Job
from core.ai.jobs.images import GenerateImages
from core.ai.jobs.planner import AutoCluster, GenerateIdeas
from core.ai.jobs.writer import GenerateContent, GenerateImagePrompts
from core.ai.schemas import parse_input
from core.errors import ValidationFailed

FUNCTIONS: dict[str, type[Job]] = {job.function: job for job in (
    AutoCluster, GenerateIdeas, GenerateContent, GenerateImagePrompts, GenerateImages)}
# Operation types of CreditCostConfig, per function (for screens that show prices).
OPERATIONS = {name: job.operation for name, job in FUNCTIONS.items()}


def make(function: str, params: dict) -> Job:
    """A job of the named function with validated input."""
    job_class = FUNCTIONS.get(function)
    if job_class is None:
        raise ValidationFailed(f"Unknown AI function “{function}”. Choose one of {', '.join(sorted(FUNCTIONS))}.")
    return job_class(parse_input(job_class.input_schema, params))
