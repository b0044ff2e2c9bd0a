"""The core: what every layer shares and nothing transport- or engine-specific.

Domain types (requests, results, EngineSettings, GgufDescription), the one error tree,
GGUF header reading and description, the settings and log set-up. It imports neither
grpc nor llama_cpp, so the router and the tools that only read files stay light.
"""
