"""embedroute.v1.TokenizeService: proto -> Application.tokenize -> proto."""

from __future__ import annotations

from service.app import Application
from service.rpc import fields, translate
from service.rpc.context import Context, deadline
from service.rpc.generated.embedroute.v1 import tokenize_pb2
from service.rpc.status import rpc_errors


class TokenizeServicer:
    def __init__(self, app: Application) -> None:
        self._app = app

    @rpc_errors(fields.TOKENIZE)
    async def Tokenize(self, request: tokenize_pb2.TokenizeRequest, context: Context) -> tokenize_pb2.TokenizeResponse:
        result = await self._app.tokenize(translate.tokenize_call(request), deadline=deadline(context))
        return tokenize_pb2.TokenizeResponse(
            model=result.model_id,
            context_length=result.context_length,
            results=[translate.token_count(c) for c in result.results],
            usage=translate.usage(result.usage),
        )
