"""The application factory: all the wiring, in one place."""

from __future__ import annotations

import contextlib
import logging

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route, WebSocketRoute
from strawberry.asgi import GraphQL

from db.engine import Database
from handoff_desk.settings import Settings
from resolvers.desk import Desk
from schema.context import Context
from schema.schema import schema

log = logging.getLogger(__name__)


class DeskGraphQL(GraphQL):
    def __init__(self, desk: Desk, **kwargs) -> None:
        super().__init__(schema, **kwargs)
        self.desk = desk

    async def get_context(self, request, response) -> Context:
        return Context(self.desk, request.headers.get("authorization"), request)


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings.from_env()
    desk = Desk(settings=settings, db=Database.from_url(settings.database_url))
    graphql = DeskGraphQL(desk, graphql_ide="graphiql" if settings.graphiql else None)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        yield
        await desk.db.dispose()

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def home(request: Request) -> RedirectResponse:
        return RedirectResponse("/graphql")

    app = Starlette(
        routes=[
            Route("/", home),
            Route("/healthz", healthz),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
        ],
        lifespan=lifespan,
    )
    app.state.desk = desk
    return app
