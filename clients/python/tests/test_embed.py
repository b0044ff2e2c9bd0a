from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from embedroute_client import Client

from .conftest import DOCUMENTS, QUERIES, TASK


def test_embed_returns_unit_vectors_in_input_order(client: Client) -> None:
    both = client.embed(["first text", "second text"])
    one = client.embed(["second text"])
    assert both.shape == (2, 256) and both.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(both, axis=1), [1.0, 1.0], atol=1e-5)
    np.testing.assert_allclose(both[1], one[0], atol=1e-6)
    assert not np.allclose(both[0], both[1])


def test_a_single_string_gives_one_vector(client: Client) -> None:
    vector = client.embed("just one")
    assert vector.shape == (256,)
    np.testing.assert_allclose(vector, client.embed(["just one"])[0], atol=1e-6)


def test_dimensions_cut_and_renormalise(client: Client) -> None:
    full = client.embed(["matryoshka"])[0]
    cut = client.embed(["matryoshka"], dimensions=64)[0]
    assert cut.shape == (64,)
    np.testing.assert_allclose(cut, full[:64] / np.linalg.norm(full[:64]), atol=1e-5)


def test_query_instruction_changes_the_vector(client: Client) -> None:
    as_query = client.embed(QUERIES[0], input_type="query", instruction=TASK)
    as_document = client.embed(QUERIES[0], input_type="document")
    assert float(client.similarity(as_query, as_document)[0, 0]) < 0.9999


def test_int8_and_binary_precisions(client: Client) -> None:
    floats = client.embed(["quantise me"])[0]
    int8 = client.embed(["quantise me"], precision="int8")[0]
    bits = client.embed(["quantise me"], precision="ubinary")[0]
    assert int8.dtype == np.int8 and int8.shape == (256,)
    np.testing.assert_array_equal(np.sign(int8[np.abs(floats) > 0.02]), np.sign(floats[np.abs(floats) > 0.02]))
    np.testing.assert_array_equal(bits, np.packbits(floats > 0))


def test_model_card_vectors_for_the_cross_language_check(client: Client, vectors_dir: Path) -> None:
    queries = client.embed(QUERIES, input_type="query", instruction=TASK)
    documents = client.embed(DOCUMENTS, input_type="document")
    scores = client.similarity(queries, documents)
    assert scores.shape == (2, 2)
    np.testing.assert_allclose(scores, queries @ documents.T, atol=1e-5)
    vectors_dir.mkdir(parents=True, exist_ok=True)
    (vectors_dir / "python.json").write_text(
        json.dumps({"queries": queries.tolist(), "documents": documents.tolist()}), encoding="utf-8"
    )
