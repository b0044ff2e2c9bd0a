"""Server reflection lists and describes every service, so tools need no .proto files."""

from __future__ import annotations

import grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase
from google.protobuf.descriptor_pool import DescriptorPool


def test_lists_and_describes_services(channel: grpc.Channel) -> None:
    database = ProtoReflectionDescriptorDatabase(channel)
    services = set(database.get_services())
    assert services == {
        "embedroute.v1.EmbedService",
        "embedroute.v1.RerankService",
        "embedroute.v1.TokenizeService",
        "embedroute.v1.ModelService",
        "tei.v1.Info",
        "tei.v1.Embed",
        "tei.v1.Predict",
        "tei.v1.Rerank",
        "tei.v1.Tokenize",
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    }
    pool = DescriptorPool(database)
    embed = pool.FindServiceByName("embedroute.v1.EmbedService")
    assert [m.name for m in embed.methods] == ["Embed", "EmbedStream", "EmbedTokens", "EmbedSparse"]
    stream = embed.methods_by_name["EmbedStream"]
    assert stream.client_streaming and stream.server_streaming
    rerank = pool.FindServiceByName("embedroute.v1.RerankService")
    assert [m.name for m in rerank.methods] == ["Rerank", "RerankStream"]
    assert pool.FindMessageTypeByName("embedroute.v1.Usage").fields_by_name["queue_time_ns"].number == 2
