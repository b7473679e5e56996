"""Validation engine: detect the standard, validate schema and code lists, report in layers."""
from exchange.validation.engine import Validator
from exchange.validation.report import (
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
