package embedroute

import "math"

// Similarity is the cosine similarity of every row of a with every row of b, as
// sentence-transformers' model.similarity computes it; rows are re-normalised here so
// that Matryoshka-cut or un-normalised vectors give true cosines. It panics when the
// rows differ in size, as mixing models' vectors is a programming error.
func Similarity(a, b [][]float32) [][]float32 {
	out := make([][]float32, len(a))
	for i, x := range a {
		out[i] = make([]float32, len(b))
		for j, y := range b {
			if len(x) != len(y) {
				panic("embedroute.Similarity: vectors of different sizes")
			}
			var dot, nx, ny float64
			for k := range x {
				dot += float64(x[k]) * float64(y[k])
				nx += float64(x[k]) * float64(x[k])
				ny += float64(y[k]) * float64(y[k])
			}
			if nx > 0 && ny > 0 {
				out[i][j] = float32(dot / math.Sqrt(nx*ny))
			}
		}
	}
	return out
}
