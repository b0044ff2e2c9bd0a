"""embedroute.v1.ModelService: what is served, from which file, where, and why."""

from __future__ import annotations

from service.app import Application, ServedModel
from service.rpc import fields, translate
from service.rpc.context import Context
from service.rpc.generated.embedroute.v1 import model_pb2
from service.rpc.status import rpc_errors


class ModelServicer:
    def __init__(self, app: Application) -> None:
        self._app = app

    @rpc_errors(fields.MODELS)
    async def ListModels(self, request: model_pb2.ListModelsRequest, context: Context) -> model_pb2.ListModelsResponse:
        return model_pb2.ListModelsResponse(models=[self._model(m) for m in self._app.models()])

    @rpc_errors(fields.MODELS)
    async def GetModel(self, request: model_pb2.GetModelRequest, context: Context) -> model_pb2.GetModelResponse:
        return model_pb2.GetModelResponse(model=self._model(self._app.model(request.model)))

    def _model(self, served: ServedModel) -> model_pb2.Model:
        return translate.model(served, serves_rerank_by_cosine=self._app.serves_rerank_by_cosine(served))
