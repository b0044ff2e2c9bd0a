package dev.embedroute.client;

import java.util.List;

/**
 * One text's token vectors (late interaction, multi-vector retrieval).
 *
 * @param tokenIds the prompt's token ids, template and special tokens included
 * @param vectors one vector per token: {@code vectors.get(i)} belongs to {@code tokenIds.get(i)}
 * @param truncated the text was cut to fit the context (only with truncate)
 */
public record TokenVectors(List<Integer> tokenIds, List<float[]> vectors, boolean truncated) {}
