"""Errors shared by the workflow and its helpers."""


class WorkflowError(Exception):
    """An action refused: `code` is machine-readable, the message says why in plain words."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
