package dev.embedroute.client;

import java.util.List;

/**
 * Cosine similarity as sentence-transformers' {@code model.similarity} computes it; rows are
 * re-normalised here so that Matryoshka-cut or un-normalised vectors give true cosines.
 */
public final class Similarity {
  private Similarity() {}

  /** {@code result[i][j]} is the cosine of {@code a.get(i)} and {@code b.get(j)}. */
  public static float[][] matrix(List<float[]> a, List<float[]> b) {
    float[][] out = new float[a.size()][b.size()];
    for (int i = 0; i < a.size(); i++) {
      for (int j = 0; j < b.size(); j++) {
        out[i][j] = cosine(a.get(i), b.get(j));
      }
    }
    return out;
  }

  static float cosine(float[] x, float[] y) {
    if (x.length != y.length) {
      throw new IllegalArgumentException("vectors of different sizes: " + x.length + " and " + y.length);
    }
    double dot = 0;
    double nx = 0;
    double ny = 0;
    for (int k = 0; k < x.length; k++) {
      dot += (double) x[k] * y[k];
      nx += (double) x[k] * x[k];
      ny += (double) y[k] * y[k];
    }
    return nx > 0 && ny > 0 ? (float) (dot / Math.sqrt(nx * ny)) : 0f;
  }
}
