"""The errors this package raises."""

from __future__ import annotations


class FlowError(Exception):
    """A flow file is malformed: the message names the file, the screen and the fault."""

    def __init__(self, file: str, screen: str | None, fault: str) -> None:
        self.file = file
        self.screen = screen
        self.fault = fault
        where = f"{file}: screen '{screen}'" if screen else file
        super().__init__(f"{where}: {fault}")
