"""Validation engine: detect the standard, validate schema and code lists, report in layers."""
from .engine import Validator
from .report import (
    LAYERS,
    Decision,
    Finding,
    LayerResult,
    LayerStatus,
    Severity,
    ValidationReport,
)

__all__ = [
    "Validator", "ValidationReport", "Finding", "LayerResult", "LayerStatus", "Severity",
    "Decision", "LAYERS",
]
