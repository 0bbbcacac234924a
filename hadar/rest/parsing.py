"""Reading a REST query string into the route's query model (the service's own)."""

from __future__ import annotations

from typing import Any

import pydantic
from starlette.requests import Request

from hadar.errors import ValidationError
from hadar.services.validation import parse_query


def query_model(request: Request, model: type[pydantic.BaseModel] | None) -> Any:
    """The parsed query parameters, or None for a route that takes none (any given: 400)."""
    items = request.query_params.multi_items()
    if model is None:
        if items:
            name = items[0][0]
            raise ValidationError(f"{name} is not a recognised query parameter", field=name)
        return None
    return parse_query(model, items)
