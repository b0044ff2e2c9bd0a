package dev.embedroute.client;

/** One offending request field, named by its proto path (e.g. {@code inputs[3]}). */
public record FieldViolation(String field, String description) {}
