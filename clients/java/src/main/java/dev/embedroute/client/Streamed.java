package dev.embedroute.client;

/** One embedStream result; {@code index} is the text's position in the input. */
public record Streamed(int index, float[] vector) {}
