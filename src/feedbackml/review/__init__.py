"""The labelling loop: export the comments the model is least sure of as tasks, import the labels back."""

from feedbackml.review.imports import ImportResult, import_labels, write_records
from feedbackml.review.tasks import TASK_FORMATS, export_tasks, most_uncertain, read_candidates

__all__ = [
    "TASK_FORMATS",
    "ImportResult",
    "export_tasks",
    "import_labels",
    "most_uncertain",
    "read_candidates",
    "write_records",
]
