// Command modelcard runs the Qwen3-Embedding model card's example through the Go client:
// two queries with the web-search instruction, two documents, their similarity matrix,
// then a rerank.
//
//	go run ./examples/modelcard 127.0.0.1:50051 [API_KEY]
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	embedroute "github.com/embedroute/embedroute/clients/go"
)

var (
	queries   = []string{"What is the capital of China?", "Explain gravity"}
	documents = []string{
		"The capital of China is Beijing.",
		"Gravity is a force that attracts two bodies towards each other. It gives weight to physical objects " +
			"and is responsible for the movement of planets around the sun.",
	}
	task = "Given a web search query, retrieve relevant passages that answer the query"
)

func main() {
	if len(os.Args) < 2 {
		log.Fatal("usage: modelcard HOST:PORT [API_KEY]")
	}
	var opts []embedroute.Option
	if len(os.Args) > 2 {
		opts = append(opts, embedroute.WithAPIKey(os.Args[2]))
	}
	client, err := embedroute.New(os.Args[1], opts...)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	q, err := client.Embed(ctx, queries, embedroute.EmbedOptions{InputType: embedroute.Query, Instruction: task})
	if err != nil {
		log.Fatal(err)
	}
	d, err := client.Embed(ctx, documents, embedroute.EmbedOptions{InputType: embedroute.Document})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("similarity (queries x documents):")
	for i, row := range embedroute.Similarity(q, d) {
		fmt.Printf("  %-32s %+.4f  %+.4f\n", queries[i], row[0], row[1])
	}
	results, err := client.Rerank(ctx, queries[0], documents, embedroute.RerankOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("rerank for %q:\n", queries[0])
	for _, r := range results {
		fmt.Printf("  document %d: %.4f\n", r.Index, r.Score)
	}
}
