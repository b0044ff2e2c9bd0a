/**
 * Cosine similarity of every row of `a` with every row of `b`, as sentence-transformers'
 * `model.similarity` computes it; rows are re-normalised here so that Matryoshka-cut or
 * un-normalised vectors give true cosines.
 */
export function similarity(a: ArrayLike<number>[], b: ArrayLike<number>[]): number[][] {
  return a.map((x) =>
    b.map((y) => {
      if (x.length !== y.length) {
        throw new RangeError(`vectors of different sizes: ${x.length} and ${y.length}`);
      }
      let dot = 0;
      let nx = 0;
      let ny = 0;
      for (let k = 0; k < x.length; k++) {
        dot += x[k] * y[k];
        nx += x[k] * x[k];
        ny += y[k] * y[k];
      }
      return nx > 0 && ny > 0 ? dot / Math.sqrt(nx * ny) : 0;
    }),
  );
}
