"""The services of the application a request came to (API and dashboard alike)."""
from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from exchange.services import Services

__all__ = ["ServicesDep", "get_services"]


def get_services(request: Request) -> Services:
    return cast(Services, request.app.state.services)  # set by exchange.api.create_api


ServicesDep = Annotated[Services, Depends(get_services)]
