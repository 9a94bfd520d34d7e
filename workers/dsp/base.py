"""Shared machinery of the DSP blocks: parameter declarations, JSON schema and validation."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from workers.tuner.space import DataFacts, SearchTrial

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


class DspParamError(ValueError):
    """A DSP block parameter (or the input it is applied to) that cannot be used."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Param:
    """One parameter of a block, as published in its JSON schema."""

    name: str
    kind: str  # JSON schema type: "number", "integer", "boolean", "string" or "array"
    default: Any
    title: str
    description: str
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: float | None = None
    enum: tuple[Any, ...] | None = None

    def schema(self) -> dict[str, Any]:
        """The JSON schema of this parameter."""
        out: dict[str, Any] = {
            "type": self.kind,
            "title": self.title,
            "description": self.description,
            "default": list(self.default) if isinstance(self.default, tuple) else self.default,
        }
        if self.kind == "array":
            out["items"] = {"type": "number", "minimum": 0}
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        if self.exclusive_minimum is not None:
            out["exclusiveMinimum"] = self.exclusive_minimum
        if self.enum is not None:
            out["enum"] = list(self.enum)
        return out

    def coerce(self, value: Any) -> Any:
        """Check one value against this declaration and return it in its canonical Python type."""
        if self.kind == "boolean":
            if not isinstance(value, bool):
                raise DspParamError(self.name, f"must be true or false, got {value!r}")
            return value
        if self.kind == "string":
            if not isinstance(value, str):
                raise DspParamError(self.name, f"must be a string, got {value!r}")
            if self.enum is not None and value not in self.enum:
                allowed = ", ".join(repr(v) for v in self.enum)
                raise DspParamError(self.name, f"must be one of {allowed}, got {value!r}")
            return value
        if self.kind == "array":
            return self._coerce_array(value)
        number = self._coerce_number(value)
        if self.minimum is not None and number < self.minimum:
            raise DspParamError(self.name, f"must be at least {self.minimum}, got {number}")
        if self.maximum is not None and number > self.maximum:
            raise DspParamError(self.name, f"must be at most {self.maximum}, got {number}")
        if self.exclusive_minimum is not None and number <= self.exclusive_minimum:
            raise DspParamError(
                self.name, f"must be greater than {self.exclusive_minimum}, got {number}"
            )
        if self.enum is not None and number not in self.enum:
            allowed = ", ".join(str(v) for v in self.enum)
            raise DspParamError(self.name, f"must be one of {allowed}, got {number}")
        return number

    def _coerce_number(self, value: Any) -> int | float:
        # JSON has no bool/number distinction problems, but Python does: True is an int.
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise DspParamError(self.name, f"must be a number, got {value!r}")
        if not math.isfinite(value):
            raise DspParamError(self.name, f"must be a finite number, got {value!r}")
        if self.kind == "integer":
            if float(value) != int(value):
                raise DspParamError(self.name, f"must be a whole number, got {value!r}")
            return int(value)
        return float(value)

    def _coerce_array(self, value: Any) -> tuple[float, ...]:
        if isinstance(value, str):
            # Edge Impulse writes power edges as "0.1, 0.5, 1.0"; accept that spelling too.
            parts = [p.strip() for p in value.split(",") if p.strip()]
            try:
                value = [float(p) for p in parts]
            except ValueError as exc:
                raise DspParamError(self.name, f"must be a list of numbers, got {value!r}") from exc
        if not isinstance(value, list | tuple):
            raise DspParamError(self.name, f"must be a list of numbers, got {value!r}")
        out = []
        for item in value:
            if isinstance(item, bool) or not isinstance(item, int | float):
                raise DspParamError(self.name, f"must be a list of numbers, got item {item!r}")
            if not math.isfinite(item) or item < 0:
                raise DspParamError(self.name, f"items must be finite and >= 0, got {item!r}")
            out.append(float(item))
        return tuple(out)


class DspBlock(ABC):
    """Base of every DSP block: declared parameters, schema, validation and batch processing.

    Subclasses set `name`, `title`, `description`, `params` and implement `_output_shape`,
    `_process` and `tune` (the block's search space for the tuner); inputs are float32
    windows shaped (n_windows, window_samples, axes).
    """

    name: str = ""
    title: str = ""
    description: str = ""
    params: tuple[Param, ...] = ()

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
        """The parameters with every default filled in."""
        return self.validate_params({})

    def validate_params(self, params: dict[str, Any] | None) -> dict[str, Any]:
        """Return a complete, canonical copy of `params`; raise DspParamError on the first fault."""
        given = dict(params or {})
        known = {p.name: p for p in self.params}
        for key in given:
            if key not in known:
                allowed = ", ".join(sorted(known)) or "none"
                raise DspParamError(
                    key, f"unknown parameter of block {self.name!r} (allowed: {allowed})"
                )
        out: dict[str, Any] = {}
        for p in self.params:
            out[p.name] = p.coerce(given[p.name]) if p.name in given else p.coerce(p.default)
        self._check_params(out)
        return out

    def output_shape(
        self, window_samples: int, axes: int, frequency_hz: float, params: dict[str, Any]
    ) -> tuple[int, ...]:
        """Shape of the features of one window; raises DspParamError if the input cannot fit."""
        if window_samples < 1:
            raise DspParamError("window_samples", f"must be at least 1, got {window_samples}")
        if axes < 1:
            raise DspParamError("axes", f"must be at least 1, got {axes}")
        if not frequency_hz > 0:
            raise DspParamError("frequency_hz", f"must be positive, got {frequency_hz}")
        return self._output_shape(
            window_samples, axes, float(frequency_hz), self.validate_params(params)
        )

    def feature_names(
        self,
        window_samples: int,
        axis_names: list[str],
        frequency_hz: float,
        params: dict[str, Any],
    ) -> list[str]:
        """A readable name for every feature, in the flattened order of `process`' output."""
        checked = self.validate_params(params)
        shape = self.output_shape(window_samples, len(axis_names), frequency_hz, checked)
        names = self._feature_names(window_samples, axis_names, float(frequency_hz), checked)
        assert len(names) == int(np.prod(shape))
        return names

    def process(
        self, windows: np.ndarray, frequency_hz: float, params: dict[str, Any]
    ) -> np.ndarray:
        """Features of every window: float32 (n_windows, *output_shape)."""
        windows = np.asarray(windows)
        if windows.ndim != 3:
            raise DspParamError(
                "windows", f"must be shaped (n_windows, window_samples, axes), got {windows.shape}"
            )
        checked = self.validate_params(params)
        n, samples, axes = windows.shape
        shape = self._output_shape(samples, axes, float(frequency_hz), checked)
        if n == 0:
            return np.zeros((0, *shape), dtype=np.float32)
        out = self._process(windows.astype(np.float32, copy=False), float(frequency_hz), checked)
        out = np.ascontiguousarray(out, dtype=np.float32)
        return out.reshape((n, *shape))

    @abstractmethod
    def tune(self, trial: SearchTrial, facts: DataFacts, *, window_samples: int) -> dict[str, Any]:
        """Complete, valid parameters for windows of `window_samples` of this data, sampling the
        block's key parameters from `trial` (Optuna's suggest API, names prefixed "<block>.")."""

    def _check_params(self, params: dict[str, Any]) -> None:  # noqa: B027 (optional hook)
        """Cross-field checks that need no knowledge of the input."""

    @abstractmethod
    def _output_shape(
        self, window_samples: int, axes: int, frequency_hz: float, params: dict[str, Any]
    ) -> tuple[int, ...]:
        """Implemented by each block."""

    @abstractmethod
    def _feature_names(
        self,
        window_samples: int,
        axis_names: list[str],
        frequency_hz: float,
        params: dict[str, Any],
    ) -> list[str]:
        """Implemented by each block."""

    @abstractmethod
    def _process(
        self, windows: np.ndarray, frequency_hz: float, params: dict[str, Any]
    ) -> np.ndarray:
        """Implemented by each block."""


def scale_param(default: float = 1.0) -> Param:
    """The `scale-axes` parameter shared by raw, flatten and spectral analysis."""
    return Param(
        "scale-axes",
        "number",
        default,
        "Scale axes",
        "Multiplies every axis by this number before processing.",
        minimum=-1e9,
        maximum=1e9,
    )


def per_axis(windows: np.ndarray) -> np.ndarray:
    """(n, samples, axes) float32 -> (n * axes, samples) float64, axis-major per window."""
    n, samples, axes = windows.shape
    return np.ascontiguousarray(windows.astype(np.float64).transpose(0, 2, 1)).reshape(
        n * axes, samples
    )
