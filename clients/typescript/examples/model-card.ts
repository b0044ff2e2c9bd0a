// The Qwen3-Embedding model card's example through the TypeScript client: two queries with
// the web-search instruction, two documents, their similarity matrix, then a rerank.
//
//   npm run example -- 127.0.0.1:50051 [API_KEY]
import { EmbedrouteClient, similarity } from "../src";

const QUERIES = ["What is the capital of China?", "Explain gravity"];
const DOCUMENTS = [
  "The capital of China is Beijing.",
  "Gravity is a force that attracts two bodies towards each other. It gives weight to physical objects " +
    "and is responsible for the movement of planets around the sun.",
];
const TASK = "Given a web search query, retrieve relevant passages that answer the query";

async function main(target: string, apiKey?: string): Promise<void> {
  const client = new EmbedrouteClient(target, { apiKey });
  try {
    const queries = await client.embed(QUERIES, { inputType: "query", instruction: TASK });
    const documents = await client.embed(DOCUMENTS, { inputType: "document" });
    console.log("similarity (queries x documents):");
    similarity(queries, documents).forEach((row, i) => {
      const cells = row.map((v) => (v >= 0 ? "+" : "") + v.toFixed(4)).join("  ");
      console.log(`  ${QUERIES[i].padEnd(32)} ${cells}`);
    });
    console.log(`rerank for '${QUERIES[0]}':`);
    for (const result of await client.rerank(QUERIES[0], DOCUMENTS)) {
      console.log(`  document ${result.index}: ${result.score.toFixed(4)}`);
    }
  } finally {
    client.close();
  }
}

const [target, apiKey] = process.argv.slice(2);
if (!target) {
  console.error("usage: model-card HOST:PORT [API_KEY]");
  process.exit(2);
}
main(target, apiKey).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
