"""The base of every settings class: strict and frozen, so params.yaml is read as written."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    # strict: "10" is not an int and 1.5 is not an int; frozen: settings are read, never patched.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


PositiveInt = Annotated[int, Field(gt=0)]
PositiveFloat = Annotated[float, Field(gt=0)]
