"""Use-cases over a store: one transaction each."""

from deconfliction.service.operations import FilingResult, OperationService

__all__ = ["FilingResult", "OperationService"]
