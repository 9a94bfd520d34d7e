"""Shared machinery of the learning blocks: errors, parameter declarations and validation."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from workers.dsp.base import JSON_SCHEMA_DIALECT, DspParamError, Param

KINDS = ("classification", "regression", "anomaly")


class LearnParamError(ValueError):
    """A learning-block parameter (or the input it gets) that cannot be used, naming the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class TrainingCancelled(Exception):
    """Training stopped because `should_stop()` answered True; nothing was produced."""

    def __init__(self, epochs_done: int) -> None:
        super().__init__(f"training cancelled after {epochs_done} epoch(s)")
        self.epochs_done = epochs_done


@dataclass(frozen=True)
class LearnParam(Param):
    """One learning-block parameter; adds integer lists ("layers") and nested objects to Param."""

    # For kind "array": the items are whole numbers within [item_minimum, item_maximum].
    item_minimum: int = 1
    item_maximum: int = 4096
    max_items: int = 16
    # For kind "object": the declarations of its properties.
    properties: tuple[LearnParam, ...] = ()
    # Null (the default when it is None) means "auto": the training run works the value out
    # from the data, see workers.learn.params.
    nullable: bool = False

    def schema(self) -> dict[str, Any]:
        """The JSON schema of this parameter."""
        if self.nullable:
            return {**self._plain_schema(), "type": [self.kind, "null"]}
        return self._plain_schema()

    def _plain_schema(self) -> dict[str, Any]:
        if self.kind == "object":
            return {
                "type": "object",
                "title": self.title,
                "description": self.description,
                "properties": {p.name: p.schema() for p in self.properties},
                "default": {p.name: p.default for p in self.properties},
                "additionalProperties": False,
            }
        if self.kind == "array":
            return {
                "type": "array",
                "title": self.title,
                "description": self.description,
                "items": {
                    "type": "integer",
                    "minimum": self.item_minimum,
                    "maximum": self.item_maximum,
                },
                "maxItems": self.max_items,
                "default": list(self.default),
            }
        return super().schema()

    def coerce(self, value: Any) -> Any:
        """Check one value against this declaration and return it in its canonical type."""
        if value is None and self.nullable:
            return None
        if self.kind == "object":
            return self._coerce_object(value)
        if self.kind == "array":
            return self._coerce_int_list(value)
        try:
            return super().coerce(value)
        except DspParamError as exc:
            raise LearnParamError(exc.field, exc.message) from None

    def _coerce_int_list(self, value: Any) -> list[int]:
        if not isinstance(value, list | tuple):
            raise LearnParamError(self.name, f"must be a list of whole numbers, got {value!r}")
        if len(value) > self.max_items:
            raise LearnParamError(self.name, f"must hold at most {self.max_items} items")
        out = []
        for item in value:
            if (
                isinstance(item, bool)
                or not isinstance(item, int | float)
                or not math.isfinite(item)
                or float(item) != int(item)
            ):
                raise LearnParamError(self.name, f"items must be whole numbers, got {item!r}")
            if not self.item_minimum <= int(item) <= self.item_maximum:
                raise LearnParamError(
                    self.name,
                    f"items must be between {self.item_minimum} and {self.item_maximum}, "
                    f"got {item}",
                )
            out.append(int(item))
        return out

    def _coerce_object(self, value: Any) -> dict[str, Any]:
        if value is None:  # absent or null: every property at its default
            value = {}
        if not isinstance(value, dict):
            raise LearnParamError(self.name, f"must be an object, got {value!r}")
        known = {p.name: p for p in self.properties}
        for key in value:
            if key not in known:
                allowed = ", ".join(sorted(known))
                raise LearnParamError(f"{self.name}.{key}", f"unknown setting (allowed: {allowed})")
        out = {}
        for p in self.properties:
            try:
                out[p.name] = p.coerce(value[p.name]) if p.name in value else p.coerce(p.default)
            except LearnParamError as exc:
                raise LearnParamError(f"{self.name}.{exc.field}", exc.message) from None
        return out


class LearnBlock:
    """Base of every learning block: declared parameters, schema and validation against the
    input it gets (the DSP output shape of one window, and the number of classes)."""

    name: str = ""
    title: str = ""
    description: str = ""
    kind: str = "classification"
    params: tuple[LearnParam, ...] = ()

    def parameters_schema(self) -> dict[str, Any]:
        """The JSON schema (draft 2020-12) of this block's parameters, defaults included."""
        return {
            "$schema": JSON_SCHEMA_DIALECT,
            "title": self.title,
            "description": self.description,
            "type": "object",
            "properties": {p.name: p.schema() for p in self.params},
            "additionalProperties": False,
        }

    def defaults(self) -> dict[str, Any]:
        """Every parameter at its default."""
        return self._canonical({})

    def settings(self, params: dict[str, Any] | None) -> dict[str, Any]:
        """`params` checked against the schema alone (no input yet), completed with defaults;
        LearnParamError names the first bad setting."""
        return self._canonical(params)

    def validate_params(
        self, params: dict[str, Any] | None, input_shape: tuple[int, ...], n_classes: int
    ) -> dict[str, Any]:
        """A complete, canonical copy of `params` for this input; LearnParamError on the first
        fault (unknown or out-of-range setting, or an architecture that does not fit the input)."""
        shape = tuple(int(d) for d in input_shape)
        if not shape or any(d < 1 for d in shape):
            raise LearnParamError("input_shape", f"must be a non-empty shape, got {input_shape}")
        out = self._canonical(params)
        self._check_input(out, shape, int(n_classes))
        return out

    def model_input_shape(
        self, input_shape: tuple[int, ...], params: dict[str, Any]
    ) -> tuple[int, ...]:
        """The shape the network reshapes one window's flat features to (before its first layer).

        Every model takes the flat features (1, prod(input_shape)) as its tflite input, so the
        device feeds the DSP output as it is; the reshape is the network's first op.
        """
        return (math.prod(input_shape),)

    def _canonical(self, params: dict[str, Any] | None) -> dict[str, Any]:
        given = dict(params or {})
        known = {p.name: p for p in self.params}
        for key in given:
            if key not in known:
                allowed = ", ".join(sorted(known))
                raise LearnParamError(
                    key, f"unknown parameter of block {self.name!r} (allowed: {allowed})"
                )
        return {
            p.name: p.coerce(given[p.name]) if p.name in given else p.coerce(p.default)
            for p in self.params
        }

    def _check_input(self, params: dict[str, Any], input_shape: tuple[int, ...], n_classes: int):
        """Checks that need the input shape and class count; subclasses extend it."""
        if self.kind == "classification" and n_classes < 2:
            raise LearnParamError(
                "n_classes",
                f"a classifier needs at least 2 labels in the training data, got {n_classes}",
            )
