package dev.embedroute.client;

import java.util.List;

/**
 * One text's lexical weights (BGE-M3's sparse output). The lexical score of two texts is the sum,
 * over the ids they share, of the product of their weights.
 *
 * @param tokenIds vocabulary ids, ascending, each once
 * @param weights {@code weights[i]} belongs to {@code tokenIds.get(i)}
 * @param tokens each id's token string, when asked for; empty otherwise
 * @param promptTokens tokens of the prompt the model saw, special tokens included
 * @param truncated the text was cut to fit the context (only with truncate)
 */
public record SparseVector(List<Integer> tokenIds, float[] weights, List<String> tokens, int promptTokens,
    boolean truncated) {}
